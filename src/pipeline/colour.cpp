#include "pipeline/transform.h"

#include "core/log.h"

namespace sipi::pipeline {

bool has_alpha(const vips::VImage& in) {
  int b = in.bands();
  auto i = in.interpretation();
  if (i == VIPS_INTERPRETATION_CMYK) return b == 5;
  if (i == VIPS_INTERPRETATION_B_W || i == VIPS_INTERPRETATION_GREY16) return b == 2;
  return b == 2 || b == 4;
}

vips::VImage normalise_colour(const vips::VImage& in) {
  vips::VImage img = in;
  auto interp = img.interpretation();
  bool grey = interp == VIPS_INTERPRETATION_B_W || interp == VIPS_INTERPRETATION_GREY16 ||
              (interp == VIPS_INTERPRETATION_MULTIBAND && img.bands() <= 2);
  if (!grey && img.get_typeof(VIPS_META_ICC_NAME) != 0) {
    try {
      // Relative colorimetric, black-point compensation as lcms does by default for sRGB output.
      img = img.icc_transform("srgb", vips::VImage::option()->set("embedded", true)->set(
                                          "intent", VIPS_INTENT_RELATIVE));
      img = img.copy();
      vips_image_remove(img.get_image(), VIPS_META_ICC_NAME);
    } catch (const vips::VError& e) {
      vips_error_clear();
      log::warning("ignoring unusable ICC profile", {{"error", e.what()}});
      img = in;
    }
  }
  interp = img.interpretation();
  if (grey) {
    if (interp != VIPS_INTERPRETATION_B_W || img.format() != VIPS_FORMAT_UCHAR) {
      img = img.colourspace(VIPS_INTERPRETATION_B_W);
    }
  } else if (interp != VIPS_INTERPRETATION_sRGB || img.format() != VIPS_FORMAT_UCHAR) {
    // CMYK without a profile uses libvips' built-in CMYK profile; Lab and RGB16 convert directly.
    if (interp == VIPS_INTERPRETATION_MULTIBAND || interp == VIPS_INTERPRETATION_RGB) {
      img = img.copy(vips::VImage::option()->set("interpretation",
                                                 img.format() == VIPS_FORMAT_USHORT ? VIPS_INTERPRETATION_RGB16
                                                                                    : VIPS_INTERPRETATION_sRGB));
    }
    img = img.colourspace(VIPS_INTERPRETATION_sRGB);
  }
  if (img.format() != VIPS_FORMAT_UCHAR) img = img.cast(VIPS_FORMAT_UCHAR);
  // Keep colour (1 or 3 bands) plus at most one alpha band.
  int colour_bands = grey ? 1 : 3;
  if (img.bands() > colour_bands + 1) img = img.extract_band(0, vips::VImage::option()->set("n", colour_bands + 1));
  img = img.copy(vips::VImage::option()->set(
      "interpretation", grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB));
  return img;
}

}  // namespace sipi::pipeline
