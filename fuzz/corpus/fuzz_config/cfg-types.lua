sipi = { port = "80", jpeg_quality = 80.5, prefix_as_path = 1, max_width = 1e20, cache_size = -1,
         scaling_quality = "high", [1] = "positional", [true] = false }
routes = { "not a table" }
