// What the JPEG 2000 region tests share: a photograph-like source (smooth gradients plus noise,
// 1000 × 700 so that tiles leave remainders on both axes) as rgb.v/rgb.ppm and grey.pgm in a
// temporary directory, the regions every level is probed with, and the pixel comparison.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <vips/vips8>

#include "core/geometry.h"

namespace sipi::test {

class Jp2Samples : public ::testing::Test {
 protected:
  static void make_samples(int seed) {
    VIPS_INIT("unit_tests");
    char tmpl[] = "/tmp/sipi-jp2-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    run("vips gaussnoise '" + p("n.v") + "' 1000 700 --sigma 40 --mean 128 --seed " + std::to_string(seed));
    run("vips xyz '" + p("xy.v") + "' 1000 700");
    run("vips bandjoin '" + p("xy.v") + " " + p("n.v") + "' '" + p("j.v") + "'");
    run("vips cast '" + p("j.v") + "' '" + p("rgb.v") + "' uchar");
    run("vips copy '" + p("rgb.v") + "' '" + p("rgb.ppm") + "'");
    run("vips extract_band '" + p("rgb.v") + "' '" + p("g.v") + "' 2");
    run("vips copy '" + p("g.v") + "' '" + p("grey.pgm") + "'");
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static void run(const std::string& cmd) { ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd; }

  // The whole level, its first 256² tile, an off-grid middle area, the last pixel, a column.
  static std::vector<Rect> probe_rects(std::int64_t w, std::int64_t h) {
    return {{0, 0, w, h},
            {0, 0, std::min<std::int64_t>(256, w), std::min<std::int64_t>(256, h)},
            {w / 3, h / 4, w / 2, h / 2},
            {w - 1, h - 1, 1, 1},
            {w / 5, 0, 1, h}};
  }

  // `got` equals `reference` cropped to `r`, every sample within `tolerance`.
  static void expect_region(const vips::VImage& got, const vips::VImage& reference, const Rect& r, double tolerance,
                            const std::string& what) {
    vips::VImage want =
        reference.crop(static_cast<int>(r.x), static_cast<int>(r.y), static_cast<int>(r.w), static_cast<int>(r.h));
    ASSERT_EQ(got.width(), want.width()) << what;
    ASSERT_EQ(got.height(), want.height()) << what;
    ASSERT_EQ(got.bands(), want.bands()) << what;
    const double diff = (got.cast(VIPS_FORMAT_INT) - want.cast(VIPS_FORMAT_INT)).abs().max();
    EXPECT_LE(diff, tolerance) << what << " rect " << r.x << "," << r.y << "," << r.w << "," << r.h;
  }

  static inline std::filesystem::path dir_;
};

}  // namespace sipi::test
