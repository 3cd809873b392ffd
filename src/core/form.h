// application/x-www-form-urlencoded (query strings and form bodies): '&'-separated pairs,
// '+' is a space, %XX escapes. Malformed escapes are kept literally rather than rejected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipi {

std::vector<std::pair<std::string, std::string>> parse_urlencoded(std::string_view s);

// "300M", "2G", "1024", "0" → bytes (0 = no limit). false on anything else.
bool parse_byte_size(std::string_view s, std::uint64_t& out);

}  // namespace sipi
