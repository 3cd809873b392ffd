// The lean path for small JPEG outputs (thumbnails, viewer tiles, medium sizes): from the decoded
// samples straight to the resampler and libjpeg, without building a libvips pipeline. Taken when
// nothing but a crop and a downscale stands between the decoded level and the JPEG: 8-bit sRGB
// or grey samples in memory without an ICC profile to apply, no rotation, mirror, watermark or
// quality change, a shrink of at most 4 (the level chosen is the smallest with enough pixels,
// so a shrink below 2 is the rule). Everything else takes the libvips pipeline.
#pragma once

#include <optional>
#include <string>

#include <vips/vips8>

#include "core/result.h"
#include "service/image_service.h"

namespace sipi::service {

// The encoded JPEG, or nothing when `p` and `decoded` (the level's pixels covering p.at, or
// exactly p.at) do not qualify.
std::optional<Result<std::string>> render_lean(const PreparedImage& p, const vips::VImage& decoded,
                                               ScalingQuality scaling, int jpeg_quality);

}  // namespace sipi::service
