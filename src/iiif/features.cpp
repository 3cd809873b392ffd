#include "iiif/features.h"

#include <array>

#include "iiif/formats.h"

namespace sipi::iiif {
namespace {

constexpr std::array<std::string_view, 17> kFeatures{
    "baseUriRedirect", "canonicalLinkHeader", "cors",          "jsonldMediaType",
    "mirroring",       "profileLinkHeader",   "regionByPct",   "regionByPx",
    "regionSquare",    "rotationArbitrary",   "rotationBy90s", "sizeByConfinedWh",
    "sizeByH",         "sizeByPct",           "sizeByW",       "sizeByWh",
    "sizeUpscaling",
};

}  // namespace

std::span<const std::string_view> extra_features() { return kFeatures; }

std::vector<std::string_view> extra_qualities() {
  std::vector<std::string_view> out;
  for (const auto& q : qualities()) {
    if (q.quality != Quality::default_) out.push_back(q.name);
  }
  return out;
}

std::vector<std::string_view> extra_formats() {
  std::vector<std::string_view> out;
  for (const auto& f : formats()) {
    if (f.format != Format::jpg && f.format != Format::png) out.push_back(f.ext);
  }
  return out;
}

// SIPI's list and order (viewers that honour it ask for JPEG first, as before).
std::vector<std::string_view> preferred_formats() { return {"jpg", "tif", "jp2", "png"}; }

}  // namespace sipi::iiif
