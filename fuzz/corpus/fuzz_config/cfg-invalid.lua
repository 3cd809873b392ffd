sipi = { imgroot = "/tmp", queue_timeout = 0/0, max_waiting = -2 }
routes = { { method = "DELETE", route = "rel", script = "../x.lua" } }
