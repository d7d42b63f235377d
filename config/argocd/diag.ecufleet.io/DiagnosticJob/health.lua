-- Argo CD health of an ecufleet DiagnosticJob: its result once final, Suspended while
-- spec.suspend keeps it out of the queues, Progressing while it waits or runs. The message is
-- the job's phase, reason and message. Runs without Lua's string library, as argocd-cm scripts do.
local hs = {}
local st = obj.status or {}
local phase = st.phase or ""

-- describe reads "Failed (StepFailed): Failed step ...", or "Succeeded: ..." when the reason
-- only repeats the phase.
local function describe()
  local text = phase
  if st.reason ~= nil and st.reason ~= "" and st.reason ~= phase then
    text = text .. " (" .. st.reason .. ")"
  end
  if st.message ~= nil and st.message ~= "" then
    text = text .. ": " .. st.message
  end
  return text
end

if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = describe()
elseif phase == "Failed" or phase == "Cancelled" then
  hs.status = "Degraded"
  hs.message = describe()
elseif obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  if st.reason == "Suspended" and st.message ~= nil and st.message ~= "" then
    hs.message = st.message
  else
    hs.message = "Suspended (spec.suspend): the job waits outside the queues until it is cleared"
  end
elseif phase == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to queue the job"
else
  hs.status = "Progressing"
  hs.message = describe()
end
return hs
