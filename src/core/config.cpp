#include "core/config.h"
#include "core/networks.h"

#include <filesystem>

#include "core/form.h"
#include <thread>

namespace sipi {
namespace {

Error bad_key(const std::string& key, const std::string& why) {
  return Error{Status::internal_error, "config.invalid", "sipi." + key + ": " + why};
}

}  // namespace

ScalingQuality parse_scaling_quality(const std::string& s, bool& ok) {
  ok = true;
  if (s == "high") return ScalingQuality::high;
  if (s == "medium") return ScalingQuality::medium;
  if (s == "low") return ScalingQuality::low;
  ok = false;
  return ScalingQuality::high;
}

Result<Ok> Config::validate() const {
  namespace fs = std::filesystem;
  if (port < 1 || port > 65535) return bad_key("port", "must be 1..65535");
  if (jpeg_quality < 1 || jpeg_quality > 100) return bad_key("jpeg_quality", "must be 1..100");
  if (nthreads < 0 || nthreads > 1024) return bad_key("nthreads", "must be 0..1024");
  // Every number has an upper bound that the arithmetic using it can carry: sides up to
  // libvips' 10 million pixels, so that products of two sides fit in 64 bits.
  constexpr std::int64_t kMaxSide = 10'000'000;
  constexpr int kDay = 86400;
  if (drain_timeout < 0 || drain_timeout > kDay) return bad_key("drain_timeout", "must be 0..86400");
  if (drain_grace < 0 || drain_grace > 3600) return bad_key("drain_grace", "must be 0..3600");
  if (!parse_networks(trusted_proxies)) return bad_key("trusted_proxies", "must list addresses or ranges, e.g. '127.0.0.1, 10.0.0.0/8'");
  // 0 = not declared in info.json (the arithmetic's bound still applies).
  if (max_width < 0 || max_width > kMaxSide) return bad_key("max_width", "must be 0..10000000");
  if (max_height < 0 || max_height > kMaxSide) return bad_key("max_height", "must be 0..10000000");
  if (max_area < 0 || max_area > kMaxSide * kMaxSide) return bad_key("max_area", "must be 0..100000000000000");
  if (max_url_length < 64 || max_url_length > (1 << 20)) return bad_key("max_url_length", "must be 64..1048576");
  if (max_header_bytes < 1024 || max_header_bytes > (1 << 20)) return bad_key("max_header_bytes", "must be 1024..1048576");
  if (header_timeout < 1 || header_timeout > kDay) return bad_key("header_timeout", "must be 1..86400");
  if (keep_alive_timeout < 1 || keep_alive_timeout > kDay) return bad_key("keep_alive_timeout", "must be 1..86400");
  if (write_timeout < 1 || write_timeout > kDay) return bad_key("write_timeout", "must be 1..86400");
  if (decode_isolation != "all" && decode_isolation != "none") return bad_key("decode_isolation", "must be \"all\" or \"none\"");
  if (decode_cpu_seconds < 1 || decode_cpu_seconds > kDay) return bad_key("decode_cpu_seconds", "must be 1..86400");
  if (tile_size < 16 || tile_size > 4096) return bad_key("tile_size", "must be 16..4096");
  std::error_code ec;
  if (!fs::is_directory(imgroot, ec)) return bad_key("imgroot", "not a directory: " + imgroot);
  if (!docroot.empty() && !fs::is_directory(docroot, ec)) {
    return Error{Status::internal_error, "config.invalid", "fileserver.docroot: not a directory: " + docroot};
  }
  if (!docroot.empty() && (wwwroute.empty() || wwwroute[0] != '/' || wwwroute == "/")) {
    return Error{Status::internal_error, "config.invalid",
                 "fileserver.wwwroute: must be a path like /server when docroot is set"};
  }
  std::uint64_t bytes = 0;
  if (!parse_byte_size(max_post_size, bytes)) return bad_key("max_post_size", "must be a size like 300M");
  if (!parse_byte_size(cache_size, bytes) && cache_size != "-1") {
    return bad_key("cache_size", "must be -1, 0 or a size like 200M");
  }
  if (cache_nfiles < 0) return bad_key("cache_nfiles", "must be >= 0");
  if (max_waiting < -1 || max_waiting > 1'000'000) return bad_key("max_waiting", "must be 0..1000000");
  if (!(queue_timeout > 0 && queue_timeout <= 3600)) return bad_key("queue_timeout", "must be 0 < s <= 3600");
  if (!parse_byte_size(max_decode_memory, bytes)) return bad_key("max_decode_memory", "must be a size like 1G (0 = none)");
  if (!parse_byte_size(decoded_tile_cache, bytes)) return bad_key("decoded_tile_cache", "must be a size like 128M (0 = none)");
  for (const std::string* cc : {&cache_control, &cache_control_restricted}) {
    if (cc->find_first_of("\r\n") != std::string::npos) return bad_key("cache_control", "must be one line");
  }
  for (const auto& r : routes) {
    static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"};
    bool ok = false;
    for (const char* m : kMethods) ok = ok || r.method == m;
    if (!ok) return Error{Status::internal_error, "config.invalid", "routes: unknown method " + r.method};
    if (r.route.empty() || r.route[0] != '/') {
      return Error{Status::internal_error, "config.invalid", "routes: route must start with '/': " + r.route};
    }
    if (r.script.empty() || r.script.find("..") != std::string::npos) {
      return Error{Status::internal_error, "config.invalid", "routes: bad script name for " + r.route};
    }
  }
  return Ok{};
}

int Config::worker_threads() const {
  if (nthreads > 0) return nthreads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 4 : static_cast<int>(n);
}

}  // namespace sipi
