// The server's settings after merging the Lua config file, SIPI_* environment variables and
// command-line flags (config < env < flag). Immutable once the server starts: it travels as
// std::shared_ptr<const Config>.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace sipi {

// Resampling kernel per output format, as in SIPI's `scaling_quality` table.
enum class ScalingQuality { low, medium, high };

struct ScalingQualities {
  ScalingQuality jpeg = ScalingQuality::medium;
  ScalingQuality tiff = ScalingQuality::high;
  ScalingQuality png = ScalingQuality::high;
  ScalingQuality j2k = ScalingQuality::high;
};

// One entry of SIPI's `routes` table: requests with this method whose path is `route` or
// below it run `script` (a file in scriptdir).
struct Route {
  std::string method;
  std::string route;
  std::string script;
};

struct Config {
  // --- SIPI-compatible keys (sipi = { … }) ---
  int port = 3333;
  std::string hostname = "localhost";
  std::string imgroot = ".";
  bool prefix_as_path = true;
  int jpeg_quality = 80;
  ScalingQualities scaling_quality;
  int nthreads = 0;  // 0 = one worker per core
  int drain_timeout = 30;  // seconds
  // Seconds between SIGTERM and closing the listener, while /health/ready says 503 and requests
  // are still served: the time a load balancer needs to notice (its check interval × fall).
  int drain_grace = 0;
  // Peers whose X-Forwarded-* headers count (core/networks.h); empty = every peer's, as SIPI.
  std::string trusted_proxies;
  std::string loglevel = "INFO";
  // Kept for the Lua API and later stages; parsed and type-checked now.
  std::string initscript;
  std::string scriptdir = "./scripts";
  std::string cache_dir = "./cache";
  std::string cache_size = "200M";
  int cache_nfiles = 200;
  std::string thumb_size = "!128,128";
  std::string max_post_size = "0";
  std::string tmpdir = "/tmp";
  int max_temp_file_age = 86400;
  std::string jwt_secret;
  std::string knora_path = "localhost";
  std::string knora_port = "3333";
  // fileserver = { docroot=, wwwroute= }
  std::string docroot;
  std::string wwwroute;
  std::vector<Route> routes;

  // --- sipi's own keys (same table; SIPI ignores them) ---
  std::string bind_address = "0.0.0.0";
  // IIIF limits, declared in info.json as maxWidth/maxHeight/maxArea. Required because
  // upscaling (`^`) is supported (IIIF 3.0 §4.2).
  std::int64_t max_width = 16384;
  std::int64_t max_height = 16384;
  std::int64_t max_area = 64LL * 1024 * 1024;
  int max_url_length = 4096;     // bytes of request target; longer → 414
  int max_header_bytes = 16384;  // request line + headers; larger → 431
  int header_timeout = 10;       // seconds to receive a complete request head
  int keep_alive_timeout = 30;   // seconds an idle keep-alive connection stays open
  int write_timeout = 60;        // seconds to send one response
  int tile_size = 512;           // tile edge declared for sources without native tiles
  // Admission (SIPI's --max-waiting / --queue-timeout): expensive requests that may wait for a
  // worker (-1 = 1024: queue rather than refuse, admission.h), and how long any request may wait before it gets 503.
  int max_waiting = -1;
  double queue_timeout = 5;
  // Decode-memory budget shared by requests in flight ("0" = no budget).
  std::string max_decode_memory = "1G";
  // Decoded JPEG 2000 codestream tiles kept for neighbouring requests ("0" = none), taken out
  // of max_decode_memory (at most a quarter of it) and shared out among the decode helpers.
  std::string decoded_tile_cache = "128M";
  // Untrusted decoding in helper processes ("all") or in the server itself ("none"); and the
  // CPU seconds one decode may use in a helper before it is stopped.
  std::string decode_isolation = "all";
  int decode_cpu_seconds = 120;
  // HTTP Cache-Control of images and info.json: allowed responses, and restricted ones (a
  // size cap or watermark from pre_flight: never shared, revalidated so a login shows).
  std::string cache_control = "public, max-age=86400";
  std::string cache_control_restricted = "private, no-cache";

  std::string config_file;  // where the settings were read from ("" = built-in defaults)

  // Cross-field checks run once after merging; the error message names the key.
  Result<Ok> validate() const;
  // Number of worker threads actually used.
  int worker_threads() const;
};

ScalingQuality parse_scaling_quality(const std::string& s, bool& ok);

}  // namespace sipi
