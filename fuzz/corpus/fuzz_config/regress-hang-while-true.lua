sipi = { imgroot = "/tmp" }
while true do end
