#include "pipeline/transform.h"

namespace sipi::pipeline {

vips::VImage apply_quality(const vips::VImage& in, iiif::Quality q) {
  switch (q) {
    case iiif::Quality::default_:
      return in;
    case iiif::Quality::color:
      return in.bands() >= 3 ? in : in.colourspace(VIPS_INTERPRETATION_sRGB);
    case iiif::Quality::gray:
      return in.bands() <= 2 ? in : in.colourspace(VIPS_INTERPRETATION_B_W);
    case iiif::Quality::bitonal: {
      vips::VImage img = has_alpha(in) ? in.flatten(vips::VImage::option()->set("background", std::vector<double>{255.0})) : in;
      if (img.bands() >= 3) img = img.colourspace(VIPS_INTERPRETATION_B_W);
      if (img.bands() > 1) img = img.extract_band(0);
      vips::VImage out = (img >= 128).copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_B_W));
      out.set(kBitonalMark, 1);
      return out;
    }
  }
  return in;
}

}  // namespace sipi::pipeline
