-- Any error raised while load_config_file reads the globals (outside lua_pcall) panics Lua.
setmetatable(_G, { __index = function(_, k) error("no global " .. k) end })
sipi = { imgroot = "/tmp" }
