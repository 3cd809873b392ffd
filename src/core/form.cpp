#include "core/form.h"

#include <charconv>

#include "core/percent.h"

namespace sipi {

std::vector<std::pair<std::string, std::string>> parse_urlencoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    auto amp = s.find('&');
    std::string_view pair = s.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out.emplace_back(form_decode(pair.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1)));
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
  if (v > UINT64_MAX / mult) return false;  // "17179869184G" must not wrap to 0 (no limit)
  out = v * mult;
  return true;
}

}  // namespace sipi
