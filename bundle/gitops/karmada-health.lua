-- Argo CD health of operator.karmada.io/Karmada (resource.customizations.health.operator.karmada.io_Karmada).
-- Follows the conditions the operator writes: Stalled (the spec cannot be carried out until it
-- changes: invalid, refused, an upgrade failed or rolled back) is Degraded; Upgrading or
-- Reconciling is Progressing; Ready with Degraded=True is Degraded; Ready alone is Healthy.
local hs = {status = "Progressing", message = "Waiting for the operator to report"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.message = "Waiting for the operator to act on generation " .. generation
  return hs
end
local c = {}
for _, cond in ipairs(obj.status.conditions) do
  if cond.type ~= nil then
    c[cond.type] = cond
  end
end
local function is(t)
  return c[t] ~= nil and c[t].status == "True"
end
local function say(status, cond)
  hs.status = status
  hs.message = (cond and (cond.reason or "") .. ": " .. (cond.message or "")) or ""
  return hs
end
if is("Suspended") then
  return say("Suspended", c.Suspended)
end
if is("Stalled") then
  return say("Degraded", c.Stalled)
end
if is("Upgrading") then
  return say("Progressing", c.Upgrading)
end
if is("Ready") then
  if is("Degraded") then
    return say("Degraded", c.Degraded)
  end
  return say("Healthy", c.Ready)
end
return say("Progressing", c.Reconciling or c.Ready)
