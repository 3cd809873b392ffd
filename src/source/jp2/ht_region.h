// HTJ2K regions through OpenJPH (ht_region.cpp), for files whose index marks them high-throughput.
#pragma once

#include <filesystem>
#include <optional>

#include "core/geometry.h"
#include "core/result.h"
#include "source/jp2/index.h"
#include "source/shape.h"

namespace sipi::source {

// Decodes `rect` of the level `reduce` like decode_jp2_pixels, with OpenJPH; nothing when OpenJPH
// declines (below).
// `threads` > 1: codestream tiles are decoded on that many threads.
std::optional<Result<Pixels>> decode_ht_pixels(const std::filesystem::path& path, const Jp2Index& index, int reduce,
                                               Rect rect, int threads = 1);

// Decodes `rect` of the level `reduce` like decode_jp2_region, with OpenJPH. Nothing when OpenJPH
// 0.9 cannot decode this part of the file (markers it skips, precision or geometry it rejects):
// the caller then uses OpenJPEG. Errors: 500 codec.decode (unreadable file or tile missing).
std::optional<Result<vips::VImage>> decode_ht_region(const std::filesystem::path& path, const Jp2Index& index,
                                                    const ImageShape& shape, int reduce, Rect rect, int threads = 1);

}  // namespace sipi::source
