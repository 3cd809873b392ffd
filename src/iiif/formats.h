// Qualities and output formats (IIIF 3.0 §4.4, §4.5), declared once as tables so that parsing,
// info.json and Content-Type all read the same data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sipi::iiif {

enum class Quality { default_, color, gray, bitonal };
enum class Format { jpg, png, webp, tif, jp2, gif, pdf };

struct QualityInfo {
  Quality quality;
  std::string_view name;
};

struct FormatInfo {
  Format format;
  std::string_view ext;        // URL extension
  std::string_view mime;       // Content-Type
  bool alpha;                  // can carry transparency (arbitrary rotation background)
  std::int64_t max_side;       // largest width/height the encoder accepts
};

std::span<const QualityInfo> qualities();
std::span<const FormatInfo> formats();

std::optional<Quality> parse_quality(std::string_view s);
std::optional<Format> parse_format(std::string_view s);
std::string_view quality_name(Quality q);
const FormatInfo& format_info(Format f);

}  // namespace sipi::iiif
