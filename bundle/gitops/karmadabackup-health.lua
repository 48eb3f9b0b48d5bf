-- Argo CD health of operator.karmada.io/KarmadaBackup (resource.customizations.health.operator.karmada.io_KarmadaBackup).
-- A backup runs once: Completed is Healthy, Failed is Degraded (it is never tried again),
-- Pending and Running are Progressing.
local hs = {status = "Progressing", message = "Waiting for the operator to start the backup"}
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local phase = obj.status.phase
hs.message = phase .. ": " .. (obj.status.message or "")
if phase == "Completed" then
  hs.status = "Healthy"
elseif phase == "Failed" then
  hs.status = "Degraded"
end
return hs
