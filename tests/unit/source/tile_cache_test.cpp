// The decoded-tile cache: a bytes-bounded LRU with second-touch admission for classic tiles, and
// regions assembled from cached tiles that equal the plain region decoders' answers pixel for
// pixel (classic through OpenJPEG, HT through OpenJPH), across tile edges and levels.
#include <fstream>

#include "jp2_samples.h"
#include "source/codec.h"
#include "source/jp2/ht_region.h"
#include "source/jp2/index.h"
#include "source/jp2/tile_cache.h"

namespace fs = std::filesystem;
using sipi::Rect;
using sipi::source::Pixels;
using sipi::source::jp2::TileCache;

namespace {

std::shared_ptr<const Pixels> tile_of_bytes(std::int64_t w) {
  return std::make_shared<const Pixels>(Pixels::allocate(w, 1, 1, false));  // w bytes
}

TEST(TileCache, EvictsLeastRecentlyUsedByBytes) {
  TileCache c;
  c.set_capacity(8000);
  c.insert("a", tile_of_bytes(1000));
  c.insert("b", tile_of_bytes(1000));
  c.insert("too big", tile_of_bytes(1001));  // more than an eighth: never kept
  EXPECT_FALSE(c.find("too big"));
  for (int i = 0; i < 6; ++i) c.insert("f" + std::to_string(i), tile_of_bytes(1000));
  EXPECT_EQ(c.stats().bytes, 8000u);
  ASSERT_TRUE(c.find("a"));  // now the most recent: "b" is the oldest
  c.insert("g", tile_of_bytes(1000));
  EXPECT_FALSE(c.find("b"));
  EXPECT_TRUE(c.find("a"));
  EXPECT_TRUE(c.find("g"));
  EXPECT_LE(c.stats().bytes, 8000u);
  c.set_capacity(0);
  EXPECT_EQ(c.stats().entries, 0u);
  EXPECT_FALSE(c.find("a"));
}

TEST(TileCache, AdmitsOnTheSecondTouch) {
  TileCache c;
  c.set_capacity(1 << 20);
  EXPECT_FALSE(c.touched_before("t"));
  EXPECT_TRUE(c.touched_before("t"));
  EXPECT_FALSE(c.touched_before("t"));  // counted afresh after an admission
  EXPECT_FALSE(c.touched_before("u"));
}

TEST(TileCache, KeysSeparateFileVersionsAndLevels) {
  using sipi::source::jp2::tile_key;
  EXPECT_NE(tile_key("/a.jp2", 1, 0, 3), tile_key("/a.jp2", 2, 0, 3));
  EXPECT_NE(tile_key("/a.jp2", 1, 0, 3), tile_key("/a.jp2", 1, 1, 3));
  EXPECT_NE(tile_key("/a.jp2", 1, 0, 3), tile_key("/a.jp2", 1, 0, 4));
  EXPECT_NE(tile_key("/a.jp2", 11, 0, 3), tile_key("/a.jp2", 1, 10, 3));
}

class TileRegions : public sipi::test::Jp2Samples {
 protected:
  static void SetUpTestSuite() { make_samples(5); }
  void SetUp() override {
    sipi::source::set_decoded_tile_cache(0);  // empty for every test
    sipi::source::set_decoded_tile_cache(64 << 20);
    (void)sipi::source::take_tile_cache_counts();
  }
  void TearDown() override { sipi::source::set_decoded_tile_cache(0); }

  // Viewer tiles (256², and off-grid 200² ones) of the first levels through the cache equal
  // the plain decoder's; returns what the cache counted.
  static sipi::source::TileCacheCounts walk(const fs::path& file) {
    auto shape = sipi::source::probe(file, 0);
    EXPECT_TRUE(shape);
    auto ix = sipi::source::index_jp2(file);
    EXPECT_TRUE(ix);
    if (!shape || !ix) return {};
    for (std::size_t li = 0; li < 2; ++li) {
      const auto lv = shape->levels[li];
      for (std::int64_t step : {256, 200}) {
        for (std::int64_t y = 0; y < lv.size.h; y += step) {
          for (std::int64_t x = 0; x < lv.size.w; x += step) {
            const Rect r{x, y, std::min(step, lv.size.w - x), std::min(step, lv.size.h - y)};
            const std::string what = file.filename().string() + " level " + std::to_string(li);
            auto want = sipi::source::decode_jp2_region(file, *ix, *shape, lv.index, r);
            EXPECT_TRUE(want) << want.error().message;
            auto got = sipi::source::jp2::decode_from_tiles(file, 1, *ix, *shape, lv.index, r);
            if (!got) continue;  // the plain path's turn (first touch, or whole tiles)
            EXPECT_TRUE(*got) << got->error().message;
            if (want && *got) expect_region(**got, *want, {0, 0, r.w, r.h}, 0, what);
          }
        }
      }
    }
    return sipi::source::take_tile_cache_counts();
  }
};

}  // namespace

TEST_F(TileRegions, ClassicTilesAreSharedFromTheSecondTouch) {
  run("opj_compress -i '" + p("rgb.ppm") + "' -o '" + p("a.jp2") + "' -t 512,512 -n 4");
  auto c = walk(dir_ / "a.jp2");
  // Per 512² tile, four 256² quarters: plain, whole (kept), hit, hit; regions across tiles
  // count only where every tile is kept.
  EXPECT_GT(c.hits, c.misses) << c.hits << " hits, " << c.misses << " misses";
}

TEST_F(TileRegions, HtTilesAreKeptFromTheFirstDecode) {
  run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + p("b.j2c") +
      "' -reversible true -num_decomps 4 -tile_size '{512,512}'");
  auto c = walk(dir_ / "b.j2c");
  EXPECT_GT(c.hits, 3 * c.misses) << c.hits << " hits, " << c.misses << " misses";
}

TEST_F(TileRegions, GreySixteenBitTiles) {
  run("vips cast '" + p("g.v") + "' '" + p("g16.v") + "' ushort");
  run("vips linear '" + p("g16.v") + "' '" + p("g16b.v") + "' 257 3");
  run("vips cast '" + p("g16b.v") + "' '" + p("g16.png") + "' ushort");
  run("vips jp2ksave '" + p("g16.png") + "' '" + p("c.jp2") + "' --lossless --tile-width 512 --tile-height 512");
  auto c = walk(dir_ / "c.jp2");
  EXPECT_GT(c.hits, 0u);
}

TEST_F(TileRegions, WholeTilesAndOffTheCacheTakeThePlainPath) {
  run("opj_compress -i '" + p("rgb.ppm") + "' -o '" + p("d.jp2") + "' -t 256,256 -n 3");
  auto shape = sipi::source::probe(dir_ / "d.jp2", 0);
  auto ix = sipi::source::index_jp2(dir_ / "d.jp2");
  ASSERT_TRUE(shape && ix);
  // A request that is exactly one codestream tile has nothing to share with its neighbours.
  EXPECT_FALSE(sipi::source::jp2::decode_from_tiles(dir_ / "d.jp2", 1, *ix, *shape, 0, {256, 256, 256, 256}));
  sipi::source::set_decoded_tile_cache(0);
  EXPECT_FALSE(sipi::source::jp2::decode_from_tiles(dir_ / "d.jp2", 1, *ix, *shape, 0, {0, 0, 100, 100}));
  EXPECT_FALSE(sipi::source::jp2::decode_from_tiles(dir_ / "d.jp2", 1, *ix, *shape, 0, {0, 0, 100, 100}));
}

// A small level that a request touches through more than four tiles is kept whole: the thumbnail
// decodes it once, and other regions of the level are cropped from it, equal to the plain decode.
TEST_F(TileRegions, SmallLevelsAreKeptWhole) {
  run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + p("e.j2c") +
      "' -reversible true -num_decomps 4 -tile_size '{256,256}'");
  run("opj_compress -i '" + p("rgb.ppm") + "' -o '" + p("f.jp2") + "' -t 256,256 -n 4");
  for (const char* name : {"e.j2c", "f.jp2"}) {
    const fs::path file = dir_ / name;
    auto shape = sipi::source::probe(file, 0);
    auto ix = sipi::source::index_jp2(file);
    ASSERT_TRUE(shape && ix) << name;
    const auto lv = shape->levels[2];  // 250×175 in 4×3 tiles of 64²
    ASSERT_EQ(lv.size.w, 250);
    const Rect whole{0, 0, lv.size.w, lv.size.h}, part{10, 20, 200, 100};  // part: 4×2 tiles, under half
    (void)sipi::source::take_tile_cache_counts();
    for (const Rect& r : {whole, part, Rect{70, 70, 180, 105}}) {
      auto want = sipi::source::decode_jp2_region(file, *ix, *shape, lv.index, r);
      ASSERT_TRUE(want) << want.error().message;
      auto got = sipi::source::jp2::decode_from_tiles(file, 1, *ix, *shape, lv.index, r, 2);
      ASSERT_TRUE(got) << name << " rect " << r.x << "," << r.y;
      ASSERT_TRUE(*got) << got->error().message;
      expect_region(**got, *want, {0, 0, r.w, r.h}, 0, name);
    }
    const auto c = sipi::source::take_tile_cache_counts();
    EXPECT_EQ(c.misses, 1u) << name;
    EXPECT_EQ(c.hits, 2u) << name;
  }
  // A classic level is kept from a request for less than half of it only at the second touch.
  sipi::source::set_decoded_tile_cache(0);
  sipi::source::set_decoded_tile_cache(64 << 20);
  const fs::path file = dir_ / "f.jp2";
  auto shape = sipi::source::probe(file, 0);
  auto ix = sipi::source::index_jp2(file);
  ASSERT_TRUE(shape && ix);
  const Rect part{10, 20, 200, 100};
  EXPECT_FALSE(sipi::source::jp2::decode_from_tiles(file, 1, *ix, *shape, 2, part));
  EXPECT_TRUE(sipi::source::jp2::decode_from_tiles(file, 1, *ix, *shape, 2, part));
}
