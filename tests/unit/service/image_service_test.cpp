// What prepare_image decides before any pixel is decoded: the canonical URL, the cache key and
// ETag, the decode-memory estimate, and whether a stored JPEG tile answers the request.
#include "service/image_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <variant>

namespace fs = std::filesystem;
using sipi::service::Context;
using sipi::service::PreparedImage;

namespace {

class ImageServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sipi-svc-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    // A 1024² RGB JPEG-tiled pyramid (256² tiles; levels 1024, 512, 256) made with the vips CLI.
    const std::string src = (dir_ / "src.v").string();
    ASSERT_EQ(std::system(("vips black '" + src + "' 1024 1024 --bands 3 >/dev/null 2>&1 && vips tiffsave '" + src +
                           "' '" + (dir_ / "p.tif").string() +
                           "' --tile --tile-width 256 --tile-height 256 --pyramid --compression jpeg --Q 80 >/dev/null 2>&1").c_str()),
              0);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static sipi::iiif::ImageRequest request(const char* path) {
    auto r = sipi::iiif::classify(path);
    EXPECT_TRUE(r) << path;
    return std::get<sipi::iiif::ImageRequest>(*r);
  }
  PreparedImage prepare(const char* path, const sipi::service::AccessOptions& access = {}) {
    auto p = sipi::service::prepare_image(ctx_, request(path), access);
    EXPECT_TRUE(p) << path << ": " << (p ? "" : p.error().detail);
    return p ? *p : PreparedImage{};
  }

  Context ctx_ = [] {
    Context c;
    c.root = {fs::canonical(dir_), true};
    return c;
  }();
  static fs::path dir_;
};

fs::path ImageServiceTest::dir_;

}  // namespace

TEST_F(ImageServiceTest, CanonicalUrlIsTheSpecsForm) {
  // §4.7: pixels for the region, "max" when the size is the region's own, w,h otherwise.
  EXPECT_EQ(prepare("/p.tif/pct:0,0,50,50/max/0/default.jpg").canonical, "/p.tif/0,0,512,512/max/0/default.jpg");
  EXPECT_EQ(prepare("/p.tif/pct:0,0,50,50/256,/0/default.jpg").canonical, "/p.tif/0,0,512,512/256,256/0/default.jpg");
  EXPECT_EQ(prepare("/p.tif/full/!200,100/0/default.png").canonical, "/p.tif/full/100,100/0/default.png");
  EXPECT_EQ(prepare("/p.tif/0,0,1024,1024/max/!90.0/color.jpg").canonical, "/p.tif/full/max/!90/color.jpg");
}

TEST_F(ImageServiceTest, CacheKeyAndEtagFollowWhatTheBytesDependOn) {
  const PreparedImage a = prepare("/p.tif/full/256,/0/default.jpg");
  EXPECT_EQ(a.cache_key.find(a.canonical + "|" + (fs::canonical(dir_) / "p.tif").string() + "|"), 0u) << a.cache_key;
  // The same image asked another way (same canonical form) shares key and ETag.
  const PreparedImage same = prepare("/p.tif/full/256,256/0/default.jpg");
  EXPECT_EQ(same.cache_key, a.cache_key);
  EXPECT_EQ(same.etag, a.etag);
  // Another access decision (a restricted view) never shares them.
  sipi::service::AccessOptions restricted;
  restricted.fingerprint = "restrict:!128,128";
  const PreparedImage r = prepare("/p.tif/full/256,/0/default.jpg", restricted);
  EXPECT_NE(r.cache_key, a.cache_key);
  EXPECT_NE(r.etag, a.etag);
  // Another JPEG quality changes the bytes, so the key.
  ctx_.jpeg_quality = 95;
  EXPECT_NE(prepare("/p.tif/full/256,/0/default.jpg").cache_key, a.cache_key);
}

TEST_F(ImageServiceTest, PlanDecodesTheSmallestSufficientLevel) {
  const PreparedImage thumb = prepare("/p.tif/full/128,/0/default.jpg");  // no 128 level: 256 it is
  EXPECT_EQ(thumb.shape.levels[thumb.level].size.w, 256);
  EXPECT_EQ(thumb.at, (sipi::Rect{0, 0, 256, 256}));
  EXPECT_EQ(prepare("/p.tif/full/300,/0/default.jpg").shape.levels[prepare("/p.tif/full/300,/0/default.jpg").level].size.w, 512);
  const PreparedImage tile = prepare("/p.tif/512,256,512,512/256,/0/default.jpg");
  EXPECT_EQ(tile.shape.levels[tile.level].size.w, 512);
  EXPECT_EQ(tile.at, (sipi::Rect{256, 128, 256, 256}));
}

TEST_F(ImageServiceTest, MemoryEstimateGrowsWithWhatIsDecoded) {
  const auto tile = sipi::service::decode_memory_estimate(prepare("/p.tif/0,0,256,256/256,/0/default.jpg"));
  const auto full = sipi::service::decode_memory_estimate(prepare("/p.tif/full/max/0/default.jpg"));
  const auto rotated = sipi::service::decode_memory_estimate(prepare("/p.tif/full/max/45/default.jpg"));
  // A 256² tile read into one buffer: its pixels, the output's and the 1 MiB margin.
  EXPECT_EQ(tile, 256u * 256 * 8 + 256u * 256 * 4 * 2 + (1u << 20));
  EXPECT_GT(full, 1024u * 1024 * 8);
  EXPECT_GT(rotated, full);
}

TEST_F(ImageServiceTest, StoredTileOnlyForAnAlignedUnscaledJpegTile) {
  auto tile = sipi::service::stored_tile(prepare("/p.tif/256,0,256,256/256,/0/default.jpg"));
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->substr(0, 2), "\xFF\xD8");
  // A reduced level's tile, addressed in full-resolution pixels, is stored too.
  EXPECT_TRUE(sipi::service::stored_tile(prepare("/p.tif/0,0,512,512/256,/0/default.jpg")));
  for (const char* path : {"/p.tif/1,0,256,256/256,/0/default.jpg", "/p.tif/0,0,256,256/128,/0/default.jpg",
                           "/p.tif/0,0,256,256/256,/0/default.png", "/p.tif/0,0,256,256/256,/90/default.jpg",
                           "/p.tif/0,0,256,256/256,/0/gray.jpg", "/p.tif/0,0,300,256/300,/0/default.jpg"}) {
    EXPECT_FALSE(sipi::service::stored_tile(prepare(path))) << path;
  }
}
