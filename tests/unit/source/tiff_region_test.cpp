// The direct tiled-TIFF region reader against libvips' tiffload of the same level: every pixel
// must match, for the layouts it takes; the layouts it declines return nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vips/vips8>

#include "source/codec.h"
#include "source/tiff/region.h"

namespace fs = std::filesystem;
using sipi::Rect;

namespace {

class TiffRegion : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    VIPS_INIT("unit_tests");
    char tmpl[] = "/tmp/sipi-tiff-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    run("vips gaussnoise " + p("n.v") + " 900 700 --sigma 40 --mean 128 --seed 3");
    run("vips xyz " + p("xy.v") + " 900 700");
    run("vips bandjoin '" + dir_.string() + "/xy.v " + dir_.string() + "/n.v' " + p("j.v"));
    run("vips cast " + p("j.v") + " " + p("rgb.v") + " uchar");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string p(const std::string& n) { return "'" + (dir_ / n).string() + "'"; }
  static void run(const std::string& cmd) { ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd; }

  static void check(const std::string& name) {
    fs::path file = dir_ / name;
    auto shape = sipi::source::probe(file, 0);
    ASSERT_TRUE(shape) << shape.error().message;
    for (const auto& lv : shape->levels) {
      auto opts = vips::VImage::option()->set("page", lv.index);
      if (lv.subifd >= 0) opts->set("subifd", lv.subifd);
      vips::VImage full = vips::VImage::tiffload(file.c_str(), opts);
      std::vector<Rect> rects = {{0, 0, lv.size.w, lv.size.h},
                                 {0, 0, std::min<std::int64_t>(256, lv.size.w), std::min<std::int64_t>(256, lv.size.h)},
                                 {lv.size.w / 3, lv.size.h / 4, lv.size.w / 2, lv.size.h / 2},
                                 {lv.size.w - 1, lv.size.h - 1, 1, 1}};
      for (const Rect& r : rects) {
        auto got = sipi::source::decode_tiff_region(file, 1, lv, r, 1 << 30);
        ASSERT_TRUE(got) << name << " declined";
        vips::VImage want = full.crop(static_cast<int>(r.x), static_cast<int>(r.y), static_cast<int>(r.w),
                                      static_cast<int>(r.h));
        ASSERT_EQ(got->bands(), want.bands());
        ASSERT_EQ(got->format(), want.format());
        EXPECT_EQ(got->interpretation(), want.interpretation()) << name;
        double diff = (got->cast(VIPS_FORMAT_INT) - want.cast(VIPS_FORMAT_INT)).abs().max();
        EXPECT_EQ(diff, 0.0) << name << " level " << lv.index << "/" << lv.subifd << " rect " << r.x << "," << r.y;
      }
    }
  }
  static inline fs::path dir_;
};

}  // namespace

TEST_F(TiffRegion, DeflatePyramid) {
  run("vips tiffsave " + p("rgb.v") + " " + p("a.tif") + " --tile --tile-width 128 --tile-height 128 --pyramid --compression deflate --predictor horizontal");
  check("a.tif");
}
TEST_F(TiffRegion, JpegYCbCrAndRgbPyramids) {
  run("vips tiffsave " + p("rgb.v") + " " + p("b.tif") + " --tile --pyramid --compression jpeg --Q 75");
  check("b.tif");
  run("vips tiffsave " + p("rgb.v") + " " + p("c.tif") + " --tile --pyramid --compression jpeg --Q 95");
  check("c.tif");
}
TEST_F(TiffRegion, SubIfdPyramidLzwSixteenBit) {
  run("vips cast " + p("rgb.v") + " " + p("u16.v") + " ushort");
  run("vips copy " + p("u16.v") + " " + p("u16i.v") + " --interpretation rgb16");
  run("vips tiffsave " + p("u16i.v") + " " + p("d.tif") + " --tile --pyramid --subifd --compression lzw");
  check("d.tif");
}
TEST_F(TiffRegion, GreyAlphaAndCmyk) {
  run("vips extract_band " + p("rgb.v") + " " + p("g.v") + " 0 --n 2");
  run("vips copy " + p("g.v") + " " + p("ga.v") + " --interpretation b-w");
  run("vips tiffsave " + p("ga.v") + " " + p("e.tif") + " --tile --compression deflate");
  check("e.tif");
  run("vips bandjoin_const " + p("rgb.v") + " " + p("cmyk0.v") + " 30");
  run("vips copy " + p("cmyk0.v") + " " + p("cmyk.v") + " --interpretation cmyk");
  run("vips tiffsave " + p("cmyk.v") + " " + p("f.tif") + " --tile");
  check("f.tif");
}
TEST_F(TiffRegion, DeclinesStripsAndOneBit) {
  run("vips tiffsave " + p("rgb.v") + " " + p("s.tif"));
  auto shape = sipi::source::probe(dir_ / "s.tif", 0);
  ASSERT_TRUE(shape);
  EXPECT_FALSE(sipi::source::decode_tiff_region(dir_ / "s.tif", 1, shape->levels[0], {0, 0, 10, 10}, 1 << 30));
  run("vips extract_band " + p("rgb.v") + " " + p("b1.v") + " 2");
  run("vips tiffsave " + p("b1.v") + " " + p("bits.tif") + " --tile --bitdepth 1");
  shape = sipi::source::probe(dir_ / "bits.tif", 0);
  ASSERT_TRUE(shape);
  EXPECT_FALSE(sipi::source::decode_tiff_region(dir_ / "bits.tif", 1, shape->levels[0], {0, 0, 10, 10}, 1 << 30));
}
