// The rotation parameter (IIIF 3.0 §4.3): n or !n, n a decimal in [0, 360]; '!' mirrors
// horizontally before the clockwise rotation.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace sipi::iiif {

struct Rotation {
  bool mirror = false;
  double degrees = 0;  // [0, 360]

  // Normalised to [0, 360): 360 behaves as 0.
  double effective() const { return degrees >= 360.0 ? 0.0 : degrees; }
  bool is_right_angle() const;
};

// Errors: 400 iiif.rotation.syntax, 400 iiif.rotation.range.
Result<Rotation> parse_rotation(std::string_view s);

// Canonical form (§4.7): "!" if mirrored, then an integer where possible, else a decimal.
std::string canonical_rotation(const Rotation& r);

}  // namespace sipi::iiif
