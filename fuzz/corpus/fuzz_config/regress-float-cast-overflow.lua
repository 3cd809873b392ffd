sipi = { port = 1e20 }
