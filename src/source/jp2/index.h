// Random access into a JPEG 2000 file. OpenJPEG finds a tile by reading every tile-part header
// before it, through a 1 MiB read buffer: one 256² tile of a 100 MB file read 84 MB. The index
// records, once per file (kept in the header cache), the main header and where each tile's
// parts lie; a decode is then fed a small virtual codestream of the main header and only the
// tiles its region touches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <vips/vips8>

#include "core/geometry.h"
#include "core/result.h"
#include "source/codec.h"
#include "source/pixels.h"
#include "source/shape.h"

namespace sipi::source {

struct Jp2Index final : FileIndex {
  std::string main_header;  // SOC up to the first SOT
  std::uint32_t x_siz = 0, y_siz = 0, x_tsiz = 0, y_tsiz = 0, xt_osiz = 0, yt_osiz = 0;
  std::uint32_t tiles_across = 0, tiles_down = 0;
  int components = 0, precision = 0;  // from SIZ; precision is the largest component's bits
  // High-throughput (HTJ2K, Part 15) code-blocks: OpenJPEG 2.5.0 returns flat grey for regions
  // smaller than a tile of such files, so their regions are decoded as whole tiles and cropped.
  bool high_throughput = false;
  // The main header has none of the markers OpenJPH 0.9 skips (COC, RGN, POC, PPT), so that
  // OpenJPH may decode the file's tiles (tile-part headers are checked per tile).
  bool openjph_main_header = true;
  struct Part {
    std::uint64_t offset, length;
  };
  std::vector<std::vector<Part>> tiles;  // tile-parts per tile index, in file order

  std::size_t bytes() const override;
};

// Builds the index, or nothing when the file needs what only the full decoder path handles: an
// image offset, subsampled or more than 4 components, palette or component mapping boxes, a
// colour space other than sRGB, grey or CMYK, or a codestream it cannot walk.
std::optional<Jp2Index> index_jp2(const std::filesystem::path& path);

// Decodes `rect` (pixels of the level that is full resolution halved `reduce` times) through the
// index, as samples. Errors: 500 codec.decode.
// `threads` > 1: OpenJPEG may decode code-blocks on that many threads (for large regions).
Result<Pixels> decode_jp2_pixels(const std::filesystem::path& path, const Jp2Index& index, int reduce, Rect rect,
                                 int threads = 1);

// The same as an image (grey, RGB or CMYK, with the ICC profile of `shape`).
Result<vips::VImage> decode_jp2_region(const std::filesystem::path& path, const Jp2Index& index,
                                       const ImageShape& shape, int reduce, Rect rect, int threads = 1);

}  // namespace sipi::source
