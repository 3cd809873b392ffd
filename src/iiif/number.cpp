#include "iiif/number.h"

#include <charconv>
#include <cstdio>

namespace sipi::iiif {
namespace {
bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_uint(std::string_view s) {
  if (!all_digits(s) || s.size() > 9) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_udecimal(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  auto dot = s.find('.');
  if (dot == std::string_view::npos) {
    if (!all_digits(s)) return std::nullopt;
  } else {
    if (!all_digits(s.substr(0, dot)) || !all_digits(s.substr(dot + 1))) return std::nullopt;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Decimal> parse_decimal(std::string_view s) {
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (!all_digits(whole) || whole.size() > 9) return std::nullopt;
  if (dot != std::string_view::npos && (!all_digits(frac) || frac.size() > 9)) return std::nullopt;
  Decimal d;
  for (char c : whole) d.num = d.num * 10 + (c - '0');
  for (char c : frac) {
    d.num = d.num * 10 + (c - '0');
    d.den *= 10;
  }
  return d;
}

std::int64_t scale_round(std::int64_t a, const Decimal& d, std::int64_t scale) {
  __int128 n = static_cast<__int128>(a) * d.num;
  __int128 q = static_cast<__int128>(d.den) * scale;
  return static_cast<std::int64_t>((2 * n + q) / (2 * q));
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto pos = s.find(',', start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string format_decimal(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace sipi::iiif
