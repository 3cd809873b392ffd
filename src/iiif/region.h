// The region parameter (IIIF 3.0 §4.1): full | square | x,y,w,h | pct:x,y,w,h.
#pragma once

#include <string>
#include <string_view>

#include "core/geometry.h"
#include "core/result.h"
#include "iiif/number.h"

namespace sipi::iiif {

struct RegionSpec {
  enum class Kind { full, square, pixels, percent };
  Kind kind = Kind::full;
  Decimal x, y, w, h;  // pixels (den 1) or percent, per kind
};

// Syntax only. Errors: 400 iiif.region.syntax, iiif.region.zero (w or h is 0).
Result<RegionSpec> parse_region(std::string_view s);

// The region in pixels of an image of `image` size, clipped at the image edges (§4.1: a region
// extending past the image is cropped). Errors: 400 iiif.region.outside_image when it starts at
// or past the right/bottom edge, 400 iiif.region.empty when it covers no whole pixel.
Result<Rect> resolve_region(const RegionSpec& spec, Dim image);

// Canonical form (§4.7): "full" when the region is the whole image, else "x,y,w,h".
std::string canonical_region(const Rect& r, Dim image);

}  // namespace sipi::iiif
