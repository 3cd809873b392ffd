#include <vector>

#include "pipeline/transform.h"

namespace sipi::pipeline {

vips::VImage rotate(const vips::VImage& in, const iiif::Rotation& r, bool alpha) {
  vips::VImage img = r.mirror ? in.flip(VIPS_DIRECTION_HORIZONTAL) : in;
  double deg = r.effective();
  if (deg == 0.0) return img;
  if (deg == 90.0) return img.rot90();
  if (deg == 180.0) return img.rot180();
  if (deg == 270.0) return img.rot270();
  std::vector<double> background;
  if (alpha) {
    if (!has_alpha(img)) img = img.bandjoin_const({255.0});
    background.assign(static_cast<std::size_t>(img.bands()), 0.0);
  } else {
    background.assign(static_cast<std::size_t>(img.bands()), 255.0);
  }
  return img.rotate(deg, vips::VImage::option()->set("background", background));
}

}  // namespace sipi::pipeline
