// Structured logging: one JSON object per line on stderr, safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipi::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

void set_level(Level level);
Level level();
// Accepts SIPI's syslog-style names too (DEBUG INFO NOTICE WARNING ERR CRIT ALERT EMERG).
bool parse_level(std::string_view name, Level& out);

using Fields = std::vector<std::pair<std::string, std::string>>;

// Writes {"ts":…,"level":…,"message":…, fields…}. Field values are JSON-escaped strings; a
// value that starts with '#' is written raw (numbers), without the '#'.
void write(Level level, std::string_view message, const Fields& fields = {});

inline void debug(std::string_view m, const Fields& f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, const Fields& f = {}) { write(Level::info, m, f); }
inline void warning(std::string_view m, const Fields& f = {}) { write(Level::warning, m, f); }
inline void error(std::string_view m, const Fields& f = {}) { write(Level::error, m, f); }

std::string num(long long v);  // helper for raw numeric fields
std::string num(double v);

}  // namespace sipi::log
