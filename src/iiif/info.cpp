#include "iiif/info.h"

#include <nlohmann/json.hpp>

#include "iiif/features.h"

namespace sipi::iiif {

std::vector<int> scale_factors(Dim size, Dim tile) {
  std::vector<int> out{1};
  std::int64_t f = 1;
  while ((size.w + f - 1) / f > tile.w || (size.h + f - 1) / f > tile.h) {
    f *= 2;
    out.push_back(static_cast<int>(f));
    if (f >= (1 << 30)) break;
  }
  return out;
}

std::string info_json(const InfoInput& in) {
  nlohmann::ordered_json j;
  j["@context"] = kContext;
  j["id"] = in.id;
  j["type"] = "ImageService3";
  j["protocol"] = kProtocol;
  j["profile"] = kProfile;
  j["width"] = in.size.w;
  j["height"] = in.size.h;
  if (in.limits.declared_width) j["maxWidth"] = in.limits.max_width;
  if (in.limits.declared_height) j["maxHeight"] = in.limits.max_height;
  if (in.limits.declared_area) j["maxArea"] = in.limits.max_area;
  if (in.pages > 1) j["numpages"] = in.pages;

  auto factors = scale_factors(in.size, in.tile);
  auto sizes = nlohmann::ordered_json::array();
  for (auto it = factors.rbegin(); it != factors.rend(); ++it) {
    std::int64_t w = (in.size.w + *it - 1) / *it, h = (in.size.h + *it - 1) / *it;
    if (w > in.limits.max_width || h > in.limits.max_height || w * h > in.limits.max_area) continue;
    sizes.push_back({{"type", "Size"}, {"width", w}, {"height", h}});
  }
  j["sizes"] = sizes;
  j["tiles"] = nlohmann::ordered_json::array(
      {{{"type", "Tile"}, {"width", in.tile.w}, {"height", in.tile.h}, {"scaleFactors", factors}}});
  j["extraQualities"] = extra_qualities();
  j["extraFormats"] = extra_formats();
  j["preferredFormats"] = preferred_formats();
  j["extraFeatures"] = std::vector<std::string_view>(extra_features().begin(), extra_features().end());
  if (!in.service_json.empty()) j["service"] = nlohmann::ordered_json::parse(in.service_json);
  return j.dump();
}

}  // namespace sipi::iiif
