#include "iiif/formats.h"

#include <array>

namespace sipi::iiif {
namespace {

constexpr std::array kQualities{
    QualityInfo{Quality::default_, "default"},
    QualityInfo{Quality::color, "color"},
    QualityInfo{Quality::gray, "gray"},
    QualityInfo{Quality::bitonal, "bitonal"},
};

// max_side: JPEG and GIF store 16-bit dimensions; WebP 14-bit.
constexpr std::array kFormats{
    FormatInfo{Format::jpg, "jpg", "image/jpeg", false, 65535},
    FormatInfo{Format::png, "png", "image/png", true, 1 << 30},
    FormatInfo{Format::webp, "webp", "image/webp", true, 16383},
    FormatInfo{Format::tif, "tif", "image/tiff", true, 1 << 30},
    FormatInfo{Format::jp2, "jp2", "image/jp2", false, 1 << 30},
    FormatInfo{Format::gif, "gif", "image/gif", true, 65535},
    FormatInfo{Format::pdf, "pdf", "application/pdf", false, 65535},  // a JPEG on a page (encode/pdf.cpp)
};

}  // namespace

std::span<const QualityInfo> qualities() { return kQualities; }
std::span<const FormatInfo> formats() { return kFormats; }

std::optional<Quality> parse_quality(std::string_view s) {
  for (const auto& q : kQualities) {
    if (q.name == s) return q.quality;
  }
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view s) {
  for (const auto& f : kFormats) {
    if (f.ext == s) return f.format;
  }
  return std::nullopt;
}

std::string_view quality_name(Quality q) {
  for (const auto& i : kQualities) {
    if (i.quality == q) return i.name;
  }
  return "default";
}

const FormatInfo& format_info(Format f) {
  for (const auto& i : kFormats) {
    if (i.format == f) return i;
  }
  return kFormats[0];
}

}  // namespace sipi::iiif
