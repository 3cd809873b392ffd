// Tiled TIFF regions read with libtiff directly: the tiles a region touches, decoded on the
// calling thread into one buffer. libvips' tiffload re-opens the file and re-reads (and sorts)
// its directory for every request and decodes on its own worker threads; for a 256² tile that
// overhead cost more than the decode. Open handles are kept per worker thread.
#pragma once

#include <filesystem>
#include <optional>
#include <vips/vips8>

#include "core/geometry.h"
#include "source/shape.h"

namespace sipi::source {

// `rect` in pixels of `level`. Nothing when this reader does not handle the level's layout
// (strips, bit depths other than 8/16, palette, Lab, YCbCr not in JPEG, associated alpha, …) or
// the region is larger than `max_pixels`; the caller then uses libvips. `version` (the file's
// modification time) keeps a handle from outliving an edit.
std::optional<vips::VImage> decode_tiff_region(const std::filesystem::path& path, std::int64_t version,
                                               const Level& level, Rect rect, std::int64_t max_pixels);

}  // namespace sipi::source
