#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace sipi::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO";
    case Level::warning: return "WARNING";
    case Level::error: return "ERROR";
  }
  return "INFO";
}

void append_escaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load()); }

bool parse_level(std::string_view n, Level& out) {
  if (n == "DEBUG" || n == "debug") { out = Level::debug; return true; }
  if (n == "INFO" || n == "info" || n == "NOTICE" || n == "notice") { out = Level::info; return true; }
  if (n == "WARNING" || n == "warning" || n == "WARN" || n == "warn") { out = Level::warning; return true; }
  if (n == "ERR" || n == "ERROR" || n == "error" || n == "CRIT" || n == "ALERT" || n == "EMERG") {
    out = Level::error;
    return true;
  }
  return false;
}

std::string num(long long v) { return "#" + std::to_string(v); }
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "#%.3f", v);
  return buf;
}

void write(Level l, std::string_view message, const Fields& fields) {
  if (static_cast<int>(l) < g_level.load()) return;
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];  // room for any int the compiler cannot rule out
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = "{\"ts\":\"";
  line += ts;
  line += "\",\"level\":\"";
  line += level_name(l);
  line += "\",\"message\":\"";
  append_escaped(line, message);
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ",\"";
    append_escaped(line, k);
    line += "\":";
    if (!v.empty() && v[0] == '#') {
      line.append(v, 1);
    } else {
      line += '"';
      append_escaped(line, v);
      line += '"';
    }
  }
  line += "}\n";
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sipi::log
