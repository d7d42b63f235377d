-- Argo CD health of an ecufleet ECU: Suspended while cordoned (spec.unschedulable), Degraded
-- when the prober finds it unreachable, its health check fails or it is not Ready for another
-- reason, Healthy when Ready, Progressing until the first probe and roll-up. The message is
-- the deciding condition's reason and message. Runs without Lua's string library.
local hs = {}
local conditions = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    conditions[c.type] = c
  end
end

local function why(c)
  local text = c.type .. "=" .. c.status .. " (" .. (c.reason or "") .. ")"
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

local ready, reachable, healthy = conditions["Ready"], conditions["Reachable"], conditions["Healthy"]
if obj.spec ~= nil and obj.spec.unschedulable == true then
  hs.status = "Suspended"
  hs.message = "Cordoned (spec.unschedulable): a running job finishes, no new job starts"
elseif reachable ~= nil and reachable.status == "False" then
  hs.status = "Degraded"
  hs.message = why(reachable)
elseif healthy ~= nil and healthy.status == "False" then
  hs.status = "Degraded"
  hs.message = why(healthy)
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = why(ready)
elseif ready ~= nil and ready.status == "False" and ready.reason ~= "Probing" then
  hs.status = "Degraded"
  hs.message = why(ready)
elseif ready ~= nil then
  hs.status = "Progressing"
  hs.message = why(ready)
else
  hs.status = "Progressing"
  hs.message = "Waiting for the first probe and the controller's Ready condition"
end
return hs
