// Plain descriptions of an image for `--json`, `sipi query` and error reports, in SIPI's
// spellings: DSP's ingest decodes these documents (see docs/user-guide.md, "Switching from SIPI").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vips/vips8>

namespace sipi::convert {

// SIPI's photometric names: MINISBLACK, RGB, SEPARATED (CMYK), CIELAB.
std::string colour_space_name(const vips::VImage& img);
int bits_per_sample(const vips::VImage& img);
std::string icc_bytes(const vips::VImage& img);  // "" when none
// SIPI's names for orientations 1-8: TOPLEFT, TOPRIGHT, BOTRIGHT, BOTLEFT, LEFTTOP, RIGHTTOP,
// RIGHTBOT, LEFTBOT.
std::string orientation_name(int orientation);
// SIPI's profile kinds: sRGB, AdobeRGB, Gray D50, CMYK (USWebCoatedSWOP), L*a*b*, or
// unknown/embedded; for an image without a profile, the one SIPI assumes for its colour space.
std::string icc_profile_type(const vips::VImage& img);

// {"width","height","channels","bps","colorspace","icc_profile_type","orientation"}
nlohmann::ordered_json describe_image(const vips::VImage& img, int orientation);

}  // namespace sipi::convert
