load_order = (load_order or "") .. "lib,"
local M = {name = "lib"}
function M.double(n) return n * 2 end
package.loaded["lib"] = M
return M
