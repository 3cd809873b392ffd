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

// `rect` of the level that is full resolution halved `reduce` times, on the reference grid, and
// the tiles it touches (inclusive ranges; the last may lie past the grid for a damaged index).
struct GridSpan {
  std::uint64_t x0, y0, x1, y1;
  std::uint64_t tx0, ty0, tx1, ty1;
};
inline std::optional<GridSpan> span_of(const Jp2Index& ix, int reduce, Rect rect) {
  const std::uint64_t s = std::uint64_t{1} << reduce;
  GridSpan g{};
  g.x0 = rect.x * s, g.y0 = rect.y * s;
  g.x1 = std::min<std::uint64_t>(ix.x_siz, (rect.x + rect.w) * s);
  g.y1 = std::min<std::uint64_t>(ix.y_siz, (rect.y + rect.h) * s);
  if (g.x0 >= g.x1 || g.y0 >= g.y1) return std::nullopt;
  auto tile_of = [](std::uint64_t p, std::uint32_t origin, std::uint32_t size) { return p < origin ? 0 : (p - origin) / size; };
  g.tx0 = tile_of(g.x0, ix.xt_osiz, ix.x_tsiz), g.tx1 = tile_of(g.x1 - 1, ix.xt_osiz, ix.x_tsiz);
  g.ty0 = tile_of(g.y0, ix.yt_osiz, ix.y_tsiz), g.ty1 = tile_of(g.y1 - 1, ix.yt_osiz, ix.y_tsiz);
  return g;
}

// Builds the index, or nothing when the file needs what only the full decoder path handles: an
// image offset, subsampled or more than 4 components, palette or component mapping boxes, a
// colour space other than sRGB, grey or CMYK, or a codestream it cannot walk.
std::optional<Jp2Index> index_jp2(const std::filesystem::path& path);

// Decodes `rect` (pixels of the level that is full resolution halved `reduce` times) through the
// index, as samples. Errors: 500 codec.decode.
// `threads` > 1: OpenJPEG may decode code-blocks on that many threads (for large regions).
Result<Pixels> decode_jp2_pixels(const std::filesystem::path& path, const Jp2Index& index, int reduce, Rect rect,
                                 int threads = 1);

// Whether the file is a bare codestream (.j2k, .j2c) rather than a JP2 file (codec.cpp).
bool is_raw_codestream(const std::filesystem::path& path);

// The same without an index, OpenJPEG reading the file itself: for files with an image offset
// (shape.origin), where libvips 8.14's loader crashes or returns wrong pixels. An HT file
// (shape.ht) is decoded whole at the level (OpenJPEG 2.5.0 decodes parts of HT code-blocks wrongly).
Result<Pixels> decode_jp2_file_pixels(const std::filesystem::path& path, const ImageShape& shape, int reduce,
                                      Rect rect, int threads = 1);

// The same as an image (grey, RGB or CMYK, with the ICC profile of `shape`).
Result<vips::VImage> decode_jp2_region(const std::filesystem::path& path, const Jp2Index& index,
                                       const ImageShape& shape, int reduce, Rect rect, int threads = 1);

}  // namespace sipi::source
