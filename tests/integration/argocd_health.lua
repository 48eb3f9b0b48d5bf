-- Runs an Argo CD health script (bundle/gitops) as Argo CD does, with the global obj set to the
-- object, here decoded from JSON by lua-cjson: lua5.1 argocd_health.lua SCRIPT OBJECT.json
-- Prints "<status>: <message>".
local cjson = require("cjson")
local f = assert(io.open(arg[2], "r"))
local text = f:read("*a")
f:close()
-- JSON null is absent to Argo CD's Lua (it converts from Go maps): drop it the same way
local function strip(v)
  if type(v) ~= "table" then
    return v
  end
  for k, x in pairs(v) do
    if x == cjson.null then
      v[k] = nil
    else
      v[k] = strip(x)
    end
  end
  return v
end
obj = strip(cjson.decode(text))
local hs = assert(loadfile(arg[1]))()
print(hs.status .. ": " .. (hs.message or ""))
