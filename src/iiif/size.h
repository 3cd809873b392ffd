// The size parameter (IIIF 3.0 §4.2): max, w,  ,h  pct:n  w,h  !w,h, each with an optional
// leading '^' that allows upscaling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/geometry.h"
#include "core/result.h"
#include "iiif/number.h"

namespace sipi::iiif {

// Server limits, declared in info.json as maxWidth / maxHeight / maxArea.
struct Limits {
  std::int64_t max_width = 16384;
  std::int64_t max_height = 16384;
  std::int64_t max_area = 64LL * 1024 * 1024;
  // Which limits info.json declares. An undeclared one (configured as 0) is only the bound the
  // arithmetic can carry, and `^max` does not upscale along it.
  bool declared_width = true, declared_height = true, declared_area = true;

  // No server limits: offline conversion and Lua's SipiImage.
  static constexpr Limits none() { return {1 << 30, 1 << 30, std::int64_t{1} << 40}; }
};

struct SizeSpec {
  enum class Kind { max, width, height, percent, exact, confined };
  Kind kind = Kind::max;
  bool upscale = false;  // leading '^'
  std::int64_t w = 0, h = 0;
  Decimal pct;  // for Kind::percent
};

// Syntax only. Errors: 400 iiif.size.syntax ("full" is a 2.x form, also 400), iiif.size.zero.
Result<SizeSpec> parse_size(std::string_view s);

// The output size for a region of `region` pixels. Rounding is to the nearest pixel (half up).
// Errors (all 400): iiif.size.upscale_without_caret (larger than the region without '^',
// including !w,h whose box exceeds the region on both axes), iiif.size.too_small (a side
// below 1 px), iiif.size.over_limits (above maxWidth/maxHeight/maxArea).
Result<Dim> resolve_size(const SizeSpec& spec, Dim region, const Limits& limits);

// The size `max` gives for this region: the region, shrunk (never grown) to fit the limits.
Dim max_size(Dim region, const Limits& limits);
// The size `^max` gives: the region scaled, up or down, to the largest size within the limits.
Dim upscaled_max_size(Dim region, const Limits& limits);

// Canonical form (§4.7): "max" / "^max" when the size equals what that form gives, otherwise
// "w,h" / "^w,h" ('^' only when the result is larger than the region on some axis).
std::string canonical_size(Dim size, Dim region, const Limits& limits);

}  // namespace sipi::iiif
