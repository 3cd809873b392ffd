#include "cli/describe.h"

#include "metadata/icc.h"

namespace sipi::cli {

std::string colour_space_name(const vips::VImage& img) {
  switch (img.interpretation()) {
    case VIPS_INTERPRETATION_B_W:
    case VIPS_INTERPRETATION_GREY16: return "GRAY";
    case VIPS_INTERPRETATION_CMYK: return "CMYK";
    case VIPS_INTERPRETATION_LAB:
    case VIPS_INTERPRETATION_LABQ:
    case VIPS_INTERPRETATION_LABS: return "LAB";
    default: return img.bands() <= 2 ? "GRAY" : "RGB";
  }
}

int bits_per_sample(const vips::VImage& img) {
  switch (img.format()) {
    case VIPS_FORMAT_UCHAR:
    case VIPS_FORMAT_CHAR: return 8;
    case VIPS_FORMAT_USHORT:
    case VIPS_FORMAT_SHORT: return 16;
    default: return 32;
  }
}

std::string icc_bytes(const vips::VImage& img) {
  if (img.get_typeof(VIPS_META_ICC_NAME) == 0) return {};
  std::size_t len = 0;
  const void* data = img.get_blob(VIPS_META_ICC_NAME, &len);
  return std::string(static_cast<const char*>(data), len);
}

nlohmann::ordered_json describe_image(const vips::VImage& img, int orientation) {
  nlohmann::ordered_json j;
  j["width"] = img.width();
  j["height"] = img.height();
  j["channels"] = img.bands();
  j["bps"] = bits_per_sample(img);
  j["colorspace"] = colour_space_name(img);
  std::string icc = icc_bytes(img);
  j["icc_profile_type"] = icc.empty() ? "none" : metadata::describe_profile(icc);
  j["orientation"] = orientation;
  return j;
}

}  // namespace sipi::cli
