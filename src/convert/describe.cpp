#include "convert/describe.h"

#include "metadata/icc.h"

namespace sipi::convert {

std::string colour_space_name(const vips::VImage& img) {
  switch (img.interpretation()) {
    case VIPS_INTERPRETATION_B_W:
    case VIPS_INTERPRETATION_GREY16: return "MINISBLACK";
    case VIPS_INTERPRETATION_CMYK: return "SEPARATED";
    case VIPS_INTERPRETATION_LAB:
    case VIPS_INTERPRETATION_LABQ:
    case VIPS_INTERPRETATION_LABS: return "CIELAB";
    default: return img.bands() <= 2 ? "MINISBLACK" : "RGB";
  }
}

std::string orientation_name(int orientation) {
  static const char* kNames[] = {"TOPLEFT", "TOPRIGHT", "BOTRIGHT", "BOTLEFT", "LEFTTOP", "RIGHTTOP", "RIGHTBOT", "LEFTBOT"};
  return orientation >= 1 && orientation <= 8 ? kNames[orientation - 1] : "TOPLEFT";
}

std::string icc_profile_type(const vips::VImage& img) {
  const std::string colour = colour_space_name(img);
  std::string icc = icc_bytes(img);
  if (icc.empty()) {
    // What SIPI's readers assume for an untagged image.
    if (colour == "MINISBLACK") return "Gray D50";
    if (colour == "SEPARATED") return "CMYK (USWebCoatedSWOP)";
    if (colour == "CIELAB") return "L*a*b*";
    return "sRGB";
  }
  // SIPI names a profile by its description; ours (metadata/icc.cpp) are named alike.
  const std::string d = metadata::describe_profile(icc);
  auto starts = [&](const char* p) { return d.rfind(p, 0) == 0; };
  if (starts("sRGB")) return "sRGB";
  if (starts("AdobeRGB") || starts("Adobe RGB") || starts("Compatible with Adobe RGB")) return "AdobeRGB";
  if (starts("Gray D50")) return "Gray D50";
  return "unknown/embedded";
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
  j["icc_profile_type"] = icc_profile_type(img);
  j["orientation"] = orientation_name(orientation);
  return j;
}

}  // namespace sipi::convert
