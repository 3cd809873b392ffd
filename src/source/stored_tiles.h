// Stored JPEG tiles, sent as they are: an aligned tile request at a level whose tiles are already
// baseline JPEG needs neither decode nor encode, only the tile's bytes with the shared JPEG tables
// put back in front ("abbreviated" JPEG streams, as pyramidal TIFFs store them). A codec with
// the stored_tiles capability reads the tables (Codec::stored_tiles); sending is format-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/result.h"
#include "source/shape.h"

namespace sipi::source {

// One level whose tiles a browser can display as they are: JPEG (compression 7), 8-bit, YCbCr
// or RGB with 3 samples or grey with 1, no ICC profile (nothing to convert to sRGB).
struct StoredJpegLevel {
  Dim tile;
  bool rgb = false;  // components are R, G, B (libvips writes these at Q >= 90), not YCbCr
  std::int64_t across = 0, down = 0;  // tiles per row / column
  std::vector<std::uint64_t> offsets, counts;
  std::string tables;  // JPEGTables tag (SOI … EOI), empty when every tile is self-contained
};

struct StoredTiles {
  std::vector<std::optional<StoredJpegLevel>> levels;  // parallel to ImageShape::levels
  std::size_t bytes() const;                           // memory held, for cache accounting
};

// The complete JPEG file of tile (col, row) of `level`. Errors: 500 codec.stored_tile when the
// file no longer holds what the index says (truncated, or a tile without SOI).
Result<std::string> read_stored_tile(const std::filesystem::path& path, const StoredJpegLevel& level,
                                     std::int64_t col, std::int64_t row);

}  // namespace sipi::source
