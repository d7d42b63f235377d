-- Argo CD health of an ecufleet DiagnosticSchedule: Suspended while spec.suspend holds new
-- runs back, Degraded when a job of the last run failed, Healthy otherwise. The message gives
-- the last run's counts. Runs without Lua's string library.
local hs = {}
local run = nil
if obj.status ~= nil then
  run = obj.status.lastRun
end

local function counts()
  if run == nil then
    return "no run yet"
  end
  return "last run " .. (run.id or "") .. " at " .. (run.time or "") .. ": " ..
    (run.jobs or 0) .. " jobs, " .. (run.succeeded or 0) .. " succeeded, " ..
    (run.failed or 0) .. " failed, " .. (run.running or 0) .. " running"
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Suspended (spec.suspend): no new run starts; " .. counts()
elseif run ~= nil and (run.failed or 0) > 0 then
  hs.status = "Degraded"
  hs.message = "Failed jobs in the " .. counts()
else
  hs.status = "Healthy"
  hs.message = "Schedule " .. ((obj.spec or {}).schedule or "") .. ", " .. counts()
end
return hs
