#include "core/form.h"

#include <charconv>

namespace sipi {
namespace {

std::string decode_component(std::string_view in) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_urlencoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    auto amp = s.find('&');
    std::string_view pair = s.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out.emplace_back(decode_component(pair.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : decode_component(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    s.remove_prefix(amp + 1);
  }
  return out;
}

bool parse_byte_size(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t mult = 1;
  char last = s.back();
  if (last == 'K' || last == 'k') mult = 1024;
  else if (last == 'M' || last == 'm') mult = 1024 * 1024;
  else if (last == 'G' || last == 'g') mult = 1024ULL * 1024 * 1024;
  if (mult != 1) s.remove_suffix(1);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return false;
  out = v * mult;
  return true;
}

}  // namespace sipi
