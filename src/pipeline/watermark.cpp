#include <vector>

#include "pipeline/transform.h"

namespace sipi::pipeline {

vips::VImage watermark(const vips::VImage& in, const vips::VImage& mark) {
  // Fit the mark inside the image, centre it, and lighten by up to 80 % where it is bright.
  double s = std::min(static_cast<double>(in.width()) / mark.width(), static_cast<double>(in.height()) / mark.height());
  vips::VImage wm = mark.resize(s);
  vips::VImage mask = wm.bands() >= 3 ? wm.extract_band(0, vips::VImage::option()->set("n", 3)).colourspace(VIPS_INTERPRETATION_B_W)
                                      : wm.extract_band(0);
  mask = mask.cast(VIPS_FORMAT_FLOAT) * (0.8 / 255.0);
  mask = mask.embed((in.width() - mask.width()) / 2, (in.height() - mask.height()) / 2, in.width(), in.height());
  double white = in.format() == VIPS_FORMAT_USHORT ? 65535.0 : 255.0;
  int colour_bands = has_alpha(in) ? in.bands() - 1 : in.bands();
  vips::VImage colour = colour_bands < in.bands() ? in.extract_band(0, vips::VImage::option()->set("n", colour_bands)) : in;
  vips::VImage blended = (colour * (1.0 - mask) + mask * white).cast(in.format());
  if (colour_bands < in.bands()) blended = blended.bandjoin(in.extract_band(colour_bands));
  return blended.copy(vips::VImage::option()->set("interpretation", in.interpretation()));
}

}  // namespace sipi::pipeline
