#include "iiif/rotation.h"

#include <cmath>

#include "iiif/number.h"

namespace sipi::iiif {

bool Rotation::is_right_angle() const {
  double e = effective();
  return e == 0.0 || e == 90.0 || e == 180.0 || e == 270.0;
}

Result<Rotation> parse_rotation(std::string_view s) {
  Rotation r;
  if (s.starts_with("!")) {
    r.mirror = true;
    s.remove_prefix(1);
  }
  auto d = parse_udecimal(s);
  if (!d) return Error::bad_request("iiif.rotation.syntax");
  if (*d > 360.0) return Error::bad_request("iiif.rotation.range");
  r.degrees = *d;
  return r;
}

std::string canonical_rotation(const Rotation& r) {
  return std::string(r.mirror ? "!" : "") + format_decimal(r.degrees);
}

}  // namespace sipi::iiif
