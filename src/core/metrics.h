// Process-wide counters for GET /metrics (Prometheus text format). Fixed names, a few labels
// from small closed sets (route, status class, lane, reason), so the series count stays bounded
// whatever clients send.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <iosfwd>
#include <mutex>
#include <string>
#include <tuple>

namespace sipi {

class Metrics {
 public:
  // Upper bounds (seconds) of the request-duration histogram buckets.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

  void request(const std::string& route, int status, std::uint64_t bytes, double seconds);
  // SIPI 7's request-duration histogram (http_server_request_duration_seconds), under its
  // label names, for dashboards built on SIPI; an empty route is not recorded.
  void sipi_request(const std::string& http_route, const std::string& method, int status, double seconds);
  void decode_memory_acquired() { decode_memory_acquired_.fetch_add(1, std::memory_order_relaxed); }
  // An image went through decode → transform → encode (not a stored tile, cache hit or HEAD).
  void image_rendered() { images_rendered_.fetch_add(1, std::memory_order_relaxed); }
  // A rendered image too large to hold in memory went through a spool file (service/spool.h).
  void image_spooled() { images_spooled_.fetch_add(1, std::memory_order_relaxed); }
  // Codestream tiles a render found in, or missed from, its process's decoded-tile cache.
  void tile_cache(std::uint64_t hits, std::uint64_t misses) {
    if (hits) tile_hits_.fetch_add(hits, std::memory_order_relaxed);
    if (misses) tile_misses_.fetch_add(misses, std::memory_order_relaxed);
  }
  void lua_kill(const std::string& reason);
  void shed(const std::string& lane, const std::string& reason);
  void decode_memory_rejected(const std::string& reason);

  std::atomic<std::int64_t> queue_depth[2] = {0, 0};  // cheap, expensive lane
  std::atomic<std::int64_t> in_flight[2] = {0, 0};
  std::atomic<std::int64_t> decode_memory_used{0};
  std::atomic<std::int64_t> decode_memory_budget{0};
  std::atomic<std::int64_t> decoded_tile_cache_bytes{0};  // all processes' decoded-tile caches, at most
  std::atomic<std::int64_t> connections{0};
  // False from SIGTERM on: /health/ready answers 503 so that load balancers move traffic away.
  std::atomic<bool> ready{true};
  std::atomic<std::int64_t> permits_total{0};  // workers (both lanes)

  // The counters as Prometheus text; `extra` is appended (gauges owned elsewhere).
  std::string render(const std::string& extra) const;

 private:
  void write_requests(std::ostream& o) const;
  void write_admission_and_memory(std::ostream& o) const;
  void write_sipi_names(std::ostream& o) const;
  struct Series {
    std::uint64_t count = 0, bytes = 0;
    double sum = 0;
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    void observe(double seconds);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, Series> requests_;  // (route, status)
  std::map<std::string, std::uint64_t> lua_kills_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> sheds_;
  std::map<std::string, std::uint64_t> memory_rejected_;
  std::map<std::tuple<std::string, std::string, int>, Series> sipi_requests_;  // (route, method, status)
  std::atomic<std::uint64_t> decode_memory_acquired_{0};
  std::atomic<std::uint64_t> images_rendered_{0};
  std::atomic<std::uint64_t> images_spooled_{0};
  std::atomic<std::uint64_t> tile_hits_{0}, tile_misses_{0};
};

Metrics& metrics();

}  // namespace sipi
