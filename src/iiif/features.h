// What this server implements, declared once: info.json's profile, extraFeatures,
// extraQualities and extraFormats are all read from here.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace sipi::iiif {

inline constexpr std::string_view kContext = "http://iiif.io/api/image/3/context.json";
inline constexpr std::string_view kProtocol = "http://iiif.io/api/image";
inline constexpr std::string_view kProfile = "level2";
inline constexpr std::string_view kProfileUri = "http://iiif.io/api/image/3/level2.json";

// Every IIIF 3.0 feature name sipi implements (all 17 of the spec's list).
std::span<const std::string_view> extra_features();
// Qualities beyond "default" and formats beyond level 2's jpg and png.
std::vector<std::string_view> extra_qualities();
std::vector<std::string_view> extra_formats();
std::vector<std::string_view> preferred_formats();

}  // namespace sipi::iiif
