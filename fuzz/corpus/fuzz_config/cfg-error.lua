error("config refuses to load")
