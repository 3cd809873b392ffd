// The TIFF codec's parts, shared inside source/tiff/ only.
#pragma once

#include <tiffio.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "source/shape.h"
#include "source/stored_tiles.h"

namespace sipi::source {

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

// The tile tables of every level of a tiled TIFF whose tiles are baseline JPEG a browser shows
// as they are. Levels that do not qualify are empty; nothing when no level qualifies.
std::optional<StoredTiles> read_stored_tiles(const std::filesystem::path& path, const ImageShape& shape);

}  // namespace sipi::source
