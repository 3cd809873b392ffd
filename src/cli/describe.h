// Plain descriptions of an image for `--json`, `sipi query` and error reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vips/vips8>

namespace sipi::cli {

std::string colour_space_name(const vips::VImage& img);
int bits_per_sample(const vips::VImage& img);
std::string icc_bytes(const vips::VImage& img);  // "" when none

// {"width","height","channels","bps","colorspace","icc_profile_type","orientation"}
nlohmann::ordered_json describe_image(const vips::VImage& img, int orientation);

}  // namespace sipi::cli
