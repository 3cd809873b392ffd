#include "core/metrics.h"

#include <cstdio>
#include <sstream>

namespace sipi {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void Metrics::Series::observe(double seconds) {
  count += 1;
  sum += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) buckets[i] += 1;
  }
}

namespace {

// One histogram series: cumulative buckets, +Inf, sum and count.
template <class Series>
void write_histogram(std::ostream& o, const char* name, const std::string& labels, const Series& s) {
  for (std::size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
    o << name << "_bucket{" << labels << ",le=\"" << num(Metrics::kBuckets[i]) << "\"} " << s.buckets[i] << "\n";
  }
  o << name << "_bucket{" << labels << ",le=\"+Inf\"} " << s.count << "\n";
  o << name << "_sum{" << labels << "} " << num(s.sum) << "\n";
  o << name << "_count{" << labels << "} " << s.count << "\n";
}

}  // namespace

Metrics& metrics() {
  static Metrics m;
  return m;
}

void Metrics::request(const std::string& route, int status, std::uint64_t bytes, double seconds) {
  std::lock_guard lock(mu_);
  Series& s = requests_[{route, status}];
  s.bytes += bytes;
  s.observe(seconds);
}

void Metrics::sipi_request(const std::string& http_route, const std::string& method, int status, double seconds) {
  if (http_route.empty()) return;
  // The semantic conventions' method set; anything else is _OTHER (bounded labels).
  static const char* kKnown[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  std::string m = "_OTHER";
  for (const char* k : kKnown) {
    if (method == k) m = k;
  }
  std::lock_guard lock(mu_);
  sipi_requests_[{http_route, m, status}].observe(seconds);
}

void Metrics::lua_kill(const std::string& reason) {
  std::lock_guard lock(mu_);
  lua_kills_[reason] += 1;
}

void Metrics::shed(const std::string& lane, const std::string& reason) {
  std::lock_guard lock(mu_);
  sheds_[{lane, reason}] += 1;
}

void Metrics::decode_memory_rejected(const std::string& reason) {
  std::lock_guard lock(mu_);
  memory_rejected_[reason] += 1;
}

// Caller holds mu_.
void Metrics::write_requests(std::ostream& o) const {
  o << "# HELP sipi_http_requests_total Requests answered, by route and status.\n"
       "# TYPE sipi_http_requests_total counter\n";
  for (const auto& [k, s] : requests_) {
    o << "sipi_http_requests_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} " << s.count << "\n";
  }
  o << "# HELP sipi_http_response_bytes_total Body bytes sent, by route and status.\n"
       "# TYPE sipi_http_response_bytes_total counter\n";
  for (const auto& [k, s] : requests_) {
    o << "sipi_http_response_bytes_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} " << s.bytes
      << "\n";
  }
  o << "# HELP sipi_http_request_duration_seconds Time from complete request head to response ready.\n"
       "# TYPE sipi_http_request_duration_seconds histogram\n";
  for (const auto& [k, s] : requests_) {
    const std::string labels = "route=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"";
    write_histogram(o, "sipi_http_request_duration_seconds", labels, s);
  }
}

// Caller holds mu_.
void Metrics::write_admission_and_memory(std::ostream& o) const {
  o << "# HELP sipi_lua_kills_total Lua calls stopped for exceeding their time or memory.\n"
       "# TYPE sipi_lua_kills_total counter\n";
  for (const char* r : {"timeout", "memory"}) {
    auto it = lua_kills_.find(r);
    o << "sipi_lua_kills_total{reason=\"" << r << "\"} " << (it == lua_kills_.end() ? 0 : it->second) << "\n";
  }
  o << "# HELP sipi_admission_shed_total Requests answered 503 without being run.\n"
       "# TYPE sipi_admission_shed_total counter\n";
  for (const char* lane : {"cheap", "expensive"}) {
    for (const char* reason : {"queue_full", "queue_timeout", "draining"}) {
      auto it = sheds_.find({lane, reason});
      o << "sipi_admission_shed_total{lane=\"" << lane << "\",reason=\"" << reason << "\"} "
        << (it == sheds_.end() ? 0 : it->second) << "\n";
    }
  }
  o << "# HELP sipi_admission_queue_depth Requests waiting for a worker.\n"
       "# TYPE sipi_admission_queue_depth gauge\n"
       "sipi_admission_queue_depth{lane=\"cheap\"} " << queue_depth[0].load() << "\n"
       "sipi_admission_queue_depth{lane=\"expensive\"} " << queue_depth[1].load() << "\n"
       "# HELP sipi_admission_in_flight Requests running on a worker.\n"
       "# TYPE sipi_admission_in_flight gauge\n"
       "sipi_admission_in_flight{lane=\"cheap\"} " << in_flight[0].load() << "\n"
       "sipi_admission_in_flight{lane=\"expensive\"} " << in_flight[1].load() << "\n";
  o << "# HELP sipi_decode_memory_used_bytes Decode memory reserved by requests in flight.\n"
       "# TYPE sipi_decode_memory_used_bytes gauge\n"
       "sipi_decode_memory_used_bytes " << decode_memory_used.load() << "\n"
       "# HELP sipi_decode_memory_budget_bytes The decode-memory budget (max_decode_memory).\n"
       "# TYPE sipi_decode_memory_budget_bytes gauge\n"
       "sipi_decode_memory_budget_bytes " << decode_memory_budget.load() << "\n"
       "# HELP sipi_decoded_tile_cache_bytes What the decoded-tile caches may hold (decoded_tile_cache, part of the budget).\n"
       "# TYPE sipi_decoded_tile_cache_bytes gauge\n"
       "sipi_decoded_tile_cache_bytes " << decoded_tile_cache_bytes.load() << "\n"
       "# HELP sipi_decode_memory_rejected_total Requests refused by the decode-memory budget.\n"
       "# TYPE sipi_decode_memory_rejected_total counter\n";
  for (const char* r : {"busy", "too_large"}) {
    auto it = memory_rejected_.find(r);
    o << "sipi_decode_memory_rejected_total{reason=\"" << r << "\"} "
      << (it == memory_rejected_.end() ? 0 : it->second) << "\n";
  }
}

// Caller holds mu_.
void Metrics::write_sipi_names(std::ostream& o) const {
  // SIPI 7's names, for dashboards built on SIPI (DSP's Grafana).
  o << "# HELP http_server_request_duration_seconds Request duration by route template, method and status (SIPI's names).\n"
       "# TYPE http_server_request_duration_seconds histogram\n";
  for (const auto& [k, s] : sipi_requests_) {
    std::string route = std::get<0>(k);
    for (std::size_t at = 0; (at = route.find_first_of("\\\"", at)) != std::string::npos; at += 2) route.insert(at, "\\");
    const std::string labels = "http_route=\"" + route + "\",http_request_method=\"" + std::get<1>(k) +
                               "\",http_response_status_code=\"" + std::to_string(std::get<2>(k)) + "\"";
    write_histogram(o, "http_server_request_duration_seconds", labels, s);
  }
  auto shed_sum = [&](const char* lane) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : sheds_) {
      if (k.first == lane) n += v;
    }
    return n;
  };
  auto rejected = [&](const char* reason) {
    auto it = memory_rejected_.find(reason);
    return it == memory_rejected_.end() ? std::uint64_t{0} : it->second;
  };
  o << "# HELP sipi_admission_permits_total Workers (SIPI's name).\n# TYPE sipi_admission_permits_total gauge\n"
       "sipi_admission_permits_total " << permits_total.load() << "\n"
       "# HELP sipi_admission_permits_in_use Workers busy (SIPI's name).\n# TYPE sipi_admission_permits_in_use gauge\n"
       "sipi_admission_permits_in_use " << in_flight[0].load() + in_flight[1].load() << "\n"
       "# HELP sipi_admission_full_in_use Workers busy with expensive requests (SIPI's name).\n"
       "# TYPE sipi_admission_full_in_use gauge\nsipi_admission_full_in_use " << in_flight[1].load() << "\n"
       "# HELP sipi_admission_tile_waiting Cheap requests waiting (SIPI's name).\n"
       "# TYPE sipi_admission_tile_waiting gauge\nsipi_admission_tile_waiting " << queue_depth[0].load() << "\n"
       "# HELP sipi_admission_full_waiting Expensive requests waiting (SIPI's name).\n"
       "# TYPE sipi_admission_full_waiting gauge\nsipi_admission_full_waiting " << queue_depth[1].load() << "\n"
       "# HELP sipi_admission_tile_shed_total Cheap requests shed (SIPI's name).\n"
       "# TYPE sipi_admission_tile_shed_total counter\nsipi_admission_tile_shed_total " << shed_sum("cheap") << "\n"
       "# HELP sipi_admission_full_shed_total Expensive requests shed (SIPI's name).\n"
       "# TYPE sipi_admission_full_shed_total counter\nsipi_admission_full_shed_total " << shed_sum("expensive") << "\n"
       "# HELP sipi_decode_memory_acquired_total Decodes admitted by the memory budget (SIPI's name).\n"
       "# TYPE sipi_decode_memory_acquired_total counter\nsipi_decode_memory_acquired_total "
    << decode_memory_acquired_.load() << "\n"
       "# HELP sipi_decode_memory_too_large_total Requests larger than the whole budget (SIPI's name).\n"
       "# TYPE sipi_decode_memory_too_large_total counter\nsipi_decode_memory_too_large_total " << rejected("too_large")
    << "\n";
}

std::string Metrics::render(const std::string& extra) const {
  std::ostringstream o;
  std::lock_guard lock(mu_);
  write_requests(o);
  write_admission_and_memory(o);
  write_sipi_names(o);
  o << "# HELP sipi_images_rendered_total Images decoded, transformed and encoded (stored tiles, cache hits and HEAD are not).\n"
       "# TYPE sipi_images_rendered_total counter\nsipi_images_rendered_total " << images_rendered_.load() << "\n";
  o << "# HELP sipi_images_spooled_total Rendered images encoded into a spool file and sent from it (large outputs).\n"
       "# TYPE sipi_images_spooled_total counter\nsipi_images_spooled_total " << images_spooled_.load() << "\n";
  o << "# HELP sipi_decoded_tile_cache_hits_total Codestream tiles taken from the decoded-tile cache.\n"
       "# TYPE sipi_decoded_tile_cache_hits_total counter\nsipi_decoded_tile_cache_hits_total " << tile_hits_.load() << "\n"
       "# HELP sipi_decoded_tile_cache_misses_total Codestream tiles a request needed that the cache did not hold.\n"
       "# TYPE sipi_decoded_tile_cache_misses_total counter\nsipi_decoded_tile_cache_misses_total " << tile_misses_.load() << "\n";
  o << "# HELP sipi_connections_open Client connections open.\n"
       "# TYPE sipi_connections_open gauge\n"
       "sipi_connections_open " << connections.load() << "\n";
  o << "# HELP sipi_ready 1 while the server takes new work, 0 while it drains.\n"
       "# TYPE sipi_ready gauge\nsipi_ready " << (ready.load() ? 1 : 0) << "\n";
  o << extra;
  return o.str();
}

}  // namespace sipi
