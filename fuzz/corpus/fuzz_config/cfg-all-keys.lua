sipi = {
  port = 3333, hostname = "example.org", imgroot = "/tmp", prefix_as_path = false,
  jpeg_quality = 60, scaling_quality = { jpeg = "low", tiff = "medium", png = "high", j2k = "high" },
  nthreads = 4, drain_timeout = 5, loglevel = "DEBUG", initscript = "init.lua", scriptdir = "scripts",
  cache_dir = "cache", cache_size = "200M", cache_nfiles = 100, thumb_size = "!128,128",
  max_post_size = "300M", tmpdir = "/tmp", max_temp_file_age = 3600, jwt_secret = "secret",
  knora_path = "localhost", knora_port = 3434, bind_address = "127.0.0.1",
  max_width = 8192, max_height = 8192, max_area = 16777216, max_url_length = 2048,
  max_header_bytes = 8192, header_timeout = 5, keep_alive_timeout = 10, write_timeout = 30,
  tile_size = 256, max_waiting = 8, queue_timeout = 2.5, max_decode_memory = "2G",
  cache_control = "public, max-age=60", cache_control_restricted = "private, no-store",
  ssl_port = 443, logfile = "x.log", unknown_key = 1,
}
fileserver = { docroot = "/tmp", wwwroute = "/server" }
routes = {
  { method = "GET", route = "/api/hello", script = "hello.lua" },
  { method = "POST", route = "/upload", script = "upload.lua" },
}
