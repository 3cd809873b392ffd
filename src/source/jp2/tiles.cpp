// A region assembled from whole decoded codestream tiles (tile_cache.h): the tiles found in the
// cache are copied, the others decoded whole (OpenJPH for HT files, else OpenJPEG) and kept. A
// small level that a request touches through many tiles is kept whole, as one entry.
#include <algorithm>
#include <cstring>
#include <vector>

#include "source/jp2/ht_region.h"
#include "source/jp2/tile_cache.h"

namespace sipi::source::jp2 {
namespace {

// A codestream tile on the level's grid and its place in the cache.
struct TileAt {
  std::uint64_t index;
  Rect box;
  std::string key;
  std::shared_ptr<const Pixels> pixels;
};

// Classic tiles: a region across more than this decodes only its parts (whole classic tiles
// cost more). HT tiles are decoded whole anyway, so a region across any number of them goes
// through the cache, as long as they take at most an eighth of it (TileCache::fits).
constexpr std::size_t kMaxClassicTiles = 4;
// The tile number of a whole-level entry.
constexpr std::uint64_t kWholeLevel = ~std::uint64_t{0};

Result<Pixels> decode_whole(const std::filesystem::path& path, const Jp2Index& ix, int reduce, Rect box, int threads) {
  if (ix.high_throughput) {
    if (auto px = decode_ht_pixels(path, ix, reduce, box, threads)) return std::move(*px);
  }
  return decode_jp2_pixels(path, ix, reduce, box, threads);
}

// The tiles `rect` touches; the whole level instead of more than kMaxClassicTiles when it is
// small; else nothing for a classic file, and the tiles for an HT one.
std::optional<std::vector<TileAt>> tiles_of(const Jp2Index& ix, int reduce, Rect rect) {
  const std::uint64_t s = std::uint64_t{1} << reduce;
  auto level_of = [&](std::uint64_t p) { return static_cast<std::int64_t>((p + s - 1) / s); };
  const auto span = span_of(ix, reduce, rect);
  if (!span) return std::nullopt;
  const auto [x0, y0, x1, y1, tx0, ty0, tx1, ty1] = *span;
  if (tx1 >= ix.tiles_across || ty1 >= ix.tiles_down) return std::nullopt;
  if ((tx1 - tx0 + 1) * (ty1 - ty0 + 1) > kMaxClassicTiles) {
    const Rect level{0, 0, level_of(ix.x_siz), level_of(ix.y_siz)};
    if (level.w * level.h <= kWholeLevelPixels) return std::vector<TileAt>{{kWholeLevel, level, {}, nullptr}};
    if (!ix.high_throughput) return std::nullopt;
  }
  std::vector<TileAt> out;
  for (std::uint64_t ty = ty0; ty <= ty1; ++ty) {
    for (std::uint64_t tx = tx0; tx <= tx1; ++tx) {
      const std::uint64_t gx0 = ix.xt_osiz + tx * ix.x_tsiz, gy0 = ix.yt_osiz + ty * ix.y_tsiz;
      const std::uint64_t gx1 = std::min<std::uint64_t>(gx0 + ix.x_tsiz, ix.x_siz);
      const std::uint64_t gy1 = std::min<std::uint64_t>(gy0 + ix.y_tsiz, ix.y_siz);
      const std::int64_t lx = level_of(gx0), ly = level_of(gy0);
      out.push_back({ty * ix.tiles_across + tx, {lx, ly, level_of(gx1) - lx, level_of(gy1) - ly}, {}, nullptr});
    }
  }
  return out;
}

}  // namespace

std::optional<Result<vips::VImage>> decode_from_tiles(const std::filesystem::path& path, std::int64_t mtime_ns,
                                                      const Jp2Index& ix, const ImageShape& shape, int reduce,
                                                      Rect rect, int threads) {
  TileCache& cache = decoded_tiles();
  if (cache.capacity() == 0) return std::nullopt;
  auto tiles = tiles_of(ix, reduce, rect);
  if (!tiles) return std::nullopt;
  std::int64_t covered = 0;
  const auto px_bytes = static_cast<std::uint64_t>(ix.components) * (ix.precision > 8 ? 2 : 1);
  for (const auto& t : *tiles) {
    covered += t.box.w * t.box.h;
    if (t.box.w <= 0 || t.box.h <= 0 || !cache.fits(static_cast<std::uint64_t>(t.box.w * t.box.h) * px_bytes)) return std::nullopt;
  }
  // An HT region's tiles all go into the cache: together they must fit as one tile would.
  if (ix.high_throughput && !cache.fits(static_cast<std::uint64_t>(covered) * px_bytes)) return std::nullopt;
  const bool whole_level = tiles->front().index == kWholeLevel;
  // Whole tiles asked for: nothing to share. A whole level is: other sizes and regions of it follow.
  if (!whole_level && covered <= rect.w * rect.h) return std::nullopt;

  bool missing = false;
  for (auto& t : *tiles) {
    t.key = tile_key(path.string(), mtime_ns, reduce, t.index);
    t.pixels = cache.find(t.key);
    missing = missing || !t.pixels;
  }
  if (missing && !ix.high_throughput) {
    // Classic: whole tiles cost more than the part a request needs. Only a second request
    // inside one tile decodes it whole; a region across several decodes only its parts. A
    // request for at least half a small level (a thumbnail) pays little more for all of it.
    const bool cheap = whole_level && 2 * rect.w * rect.h >= covered;
    if (!cheap && (tiles->size() > 1 || !cache.touched_before(tiles->front().key))) return std::nullopt;
  }
  for (auto& t : *tiles) {
    if (t.pixels) continue;
    auto px = decode_whole(path, ix, reduce, t.box, threads);
    if (!px) return Result<vips::VImage>(px.error());
    t.pixels = std::make_shared<const Pixels>(std::move(*px));
    cache.insert(t.key, t.pixels);
  }

  const Pixels& first = *tiles->front().pixels;
  Pixels out = Pixels::allocate(rect.w, rect.h, first.bands, first.wide);
  const std::size_t pb = out.pixel_bytes();
  for (const auto& t : *tiles) {
    const Pixels& p = *t.pixels;
    if (p.bands != out.bands || p.wide != out.wide) return std::nullopt;  // tiles that disagree: not ours
    const std::int64_t x0 = std::max(rect.x, t.box.x), x1 = std::min(rect.x + rect.w, t.box.x + t.box.w);
    const std::int64_t y0 = std::max(rect.y, t.box.y), y1 = std::min(rect.y + rect.h, t.box.y + t.box.h);
    for (std::int64_t y = y0; y < y1; ++y) {
      std::memcpy(out.row(y - rect.y) + static_cast<std::size_t>(x0 - rect.x) * pb,
                  p.row(y - t.box.y) + static_cast<std::size_t>(x0 - t.box.x) * pb, static_cast<std::size_t>(x1 - x0) * pb);
    }
  }
  auto img = adopt(std::move(out), shape.cmyk, shape.icc);
  if (!img) return Result<vips::VImage>(Error::internal("codec.decode", path.string() + ": cannot wrap pixels"));
  return Result<vips::VImage>(*img);
}

}  // namespace sipi::source::jp2
