// Number grammar of IIIF URL parameters: unsigned integers and unsigned decimals made of digits
// and at most one '.', nothing else (no sign, exponent, spaces, hex). Uses std::from_chars.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipi::iiif {

// Digits only, at most 9 of them (values above 999,999,999 px are never meaningful here).
std::optional<std::int64_t> parse_uint(std::string_view s);
// digits, optionally '.' and at least one more digit; at most 32 characters.
std::optional<double> parse_udecimal(std::string_view s);
// An unsigned decimal held exactly as num / den (den a power of ten), so that percentages
// round the way the decimal text says, not the way its binary double happens to.
struct Decimal {
  std::int64_t num = 0;
  std::int64_t den = 1;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
};
// Same grammar as parse_udecimal, at most 9 digits before and 9 after the point.
std::optional<Decimal> parse_decimal(std::string_view s);
// round(a * num / (den * scale)) half up, exact for a ≤ 1e9 (128-bit intermediate).
std::int64_t scale_round(std::int64_t a, const Decimal& d, std::int64_t scale);

// Splits on ',' keeping empty fields.
std::vector<std::string_view> split_commas(std::string_view s);
// Canonical float form (IIIF 3.0 §4.7): no trailing zeros, no trailing '.', leading 0 below 1.
std::string format_decimal(double v);

}  // namespace sipi::iiif
