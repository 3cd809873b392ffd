// GET /metrics: Prometheus text exposition of the process-wide counters, the caches and the
// process itself (read from /proc).
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/metrics.h"
#include "http/handlers.h"

namespace sipi::http {
namespace {

void gauge(std::ostringstream& o, const char* name, const char* help, const char* type, double value) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " ";
  if (value == static_cast<double>(static_cast<long long>(value))) {
    o << static_cast<long long>(value);
  } else {
    o << value;
  }
  o << "\n";
}

std::string process_metrics(const AppContext& ctx) {
  std::ostringstream o;
  long pages_resident = 0, ignore = 0;
  std::ifstream("/proc/self/statm") >> ignore >> pages_resident;
  gauge(o, "process_resident_memory_bytes", "Resident set size.", "gauge",
        static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string f;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
    }
    gauge(o, "process_cpu_seconds_total", "User and system CPU time.", "counter",
          (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK)));
  }
  int fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++fds;
    ::closedir(d);
  }
  gauge(o, "process_open_fds", "Open file descriptors.", "gauge", fds - 3);  // ".", ".." and the directory itself
  gauge(o, "sipi_uptime_seconds", "Seconds since start.", "gauge",
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started).count());
  o << "# HELP sipi_build_info Version of the running binary.\n# TYPE sipi_build_info gauge\n"
       "sipi_build_info{version=\"" SIPI_VERSION "\"} 1\n";
  gauge(o, "sipi_header_cache_hits_total", "Source headers found parsed.", "counter",
        static_cast<double>(ctx.iiif.headers->hits()));
  gauge(o, "sipi_header_cache_misses_total", "Source headers parsed.", "counter",
        static_cast<double>(ctx.iiif.headers->misses()));
  if (ctx.iiif.cache) {
    auto s = ctx.iiif.cache->stats();
    gauge(o, "sipi_cache_hits_total", "Derivative cache hits.", "counter", static_cast<double>(s.hits));
    gauge(o, "sipi_cache_misses_total", "Derivative cache misses.", "counter", static_cast<double>(s.misses));
    gauge(o, "sipi_cache_writes_total", "Derivatives stored.", "counter", static_cast<double>(s.writes));
    gauge(o, "sipi_cache_evictions_total", "Derivatives evicted for the limits.", "counter",
          static_cast<double>(s.evictions));
    gauge(o, "sipi_cache_skips_total", "Derivatives not stored (too large, write failed).", "counter",
          static_cast<double>(s.skips));
    gauge(o, "sipi_cache_declined_total",
          "Cheap derivatives not stored in a full cache because they had not been asked for recently.", "counter",
          static_cast<double>(s.declined));
    gauge(o, "sipi_cache_corrupt_total", "Damaged cache files found and removed.", "counter",
          static_cast<double>(s.corrupt));
    gauge(o, "sipi_cache_size_bytes", "Bytes in the derivative cache.", "gauge", static_cast<double>(s.bytes));
    gauge(o, "sipi_cache_files", "Files in the derivative cache.", "gauge", static_cast<double>(s.files));
    gauge(o, "sipi_cache_size_limit_bytes", "cache_size (0 = unlimited).", "gauge",
          static_cast<double>(ctx.iiif.cache->limits().max_bytes));
    gauge(o, "sipi_cache_files_limit", "cache_nfiles (0 = unlimited).", "gauge",
          static_cast<double>(ctx.iiif.cache->limits().max_files));
  }
  if (ctx.iiif.isolation) o << ctx.iiif.isolation->metrics_text();
  return o.str();
}

}  // namespace

Response handle_metrics(const AppContext& ctx, const RequestView&) {
  Response r;
  r.detail = "metrics";
  r.body = metrics().render(process_metrics(ctx));
  r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.set("Cache-Control", "no-store");
  return r;
}

}  // namespace sipi::http
