// The lean resampler against libvips' resize with the same kernel, on a photograph-like image
// (smooth structure plus fine grain), grey and RGB, at the shrinks the lean path takes. The
// figures printed are the ones the tolerances were set from.
#include "pipeline/resample.h"

#include <gtest/gtest.h>
#include <vips/vips8>

#include <array>
#include <cmath>

using sipi::Dim;
using sipi::ScalingQuality;
using sipi::pipeline::resample8;
using sipi::pipeline::Samples8;

namespace {

vips::VImage photo(int w, int h, int bands) {
  VIPS_INIT("unit_tests");
  vips::VImage xy = vips::VImage::xyz(w, h);
  vips::VImage x = xy[0], y = xy[1];
  vips::VImage smooth = (x * 5.0).sin() * 50 + (y * 3.0).cos() * 40 + 128;  // degrees: periods of 72 and 120 px
  vips::VImage grain = vips::VImage::gaussnoise(w, h, vips::VImage::option()->set("sigma", 12.0)->set("mean", 0.0)->set("seed", 3));
  vips::VImage g = (smooth + grain).cast(VIPS_FORMAT_UCHAR);
  if (bands == 1) return g.copy_memory();
  return g.bandjoin((255 - g).cast(VIPS_FORMAT_UCHAR)).bandjoin((g / 2 + 40).cast(VIPS_FORMAT_UCHAR)).copy_memory();
}

struct Diff {
  double mean, max;
};

// Ours against libvips' resize (with the kernel the quality names) to exactly `out`.
Diff compare(const vips::VImage& img, Dim out, ScalingQuality q) {
  const VipsImage* im = img.get_image();
  const Samples8 in{im->data, img.width(), img.height(), img.bands(), static_cast<std::size_t>(VIPS_IMAGE_SIZEOF_LINE(im))};
  auto ours = resample8(in, out, q);
  EXPECT_EQ(ours.size(), static_cast<std::size_t>(out.w * out.h * img.bands()));
  const VipsKernel k = q == ScalingQuality::low ? VIPS_KERNEL_NEAREST
                       : q == ScalingQuality::medium ? VIPS_KERNEL_LINEAR : VIPS_KERNEL_LANCZOS3;
  vips::VImage ref = img.resize(static_cast<double>(out.w) / img.width(),
                                vips::VImage::option()->set("vscale", static_cast<double>(out.h) / img.height())->set("kernel", k));
  ref = ref.extract_area(0, 0, std::min<int>(ref.width(), out.w), std::min<int>(ref.height(), out.h)).copy_memory();
  vips::VImage mine = vips::VImage::new_from_memory(ours.data(), ours.size(), static_cast<int>(out.w), static_cast<int>(out.h),
                                                    img.bands(), VIPS_FORMAT_UCHAR);
  mine = mine.extract_area(0, 0, ref.width(), ref.height());
  vips::VImage d = (mine.cast(VIPS_FORMAT_INT) - ref.cast(VIPS_FORMAT_INT)).abs();
  return {d.avg(), d.max()};
}

}  // namespace

TEST(Resample, MatchesLibvipsResizeAtEachQuality) {
  for (int bands : {1, 3}) {
    const vips::VImage img = photo(313, 250, bands);
    // A thumbnail from the next level up, a `2000,`-like shrink, a shrink past 2 (box first),
    // and a one-pixel-narrower output.
    for (Dim out : {Dim{200, 160}, Dim{250, 200}, Dim{100, 80}, Dim{312, 249}}) {
      for (ScalingQuality q : {ScalingQuality::medium, ScalingQuality::high}) {
        const Diff d = compare(img, out, q);
        std::printf("bands %d %lldx%lld quality %d: mean %.2f max %.0f\n", bands, static_cast<long long>(out.w),
                    static_cast<long long>(out.h), static_cast<int>(q), d.mean, d.max);
        // Lanczos 3 is libvips' to within rounding (measured: mean ≤ 0.21, max 2). Bilinear here
        // is plain bilinear after a box shrink, not widened as libvips' linear kernel is: the
        // grain averages differently (measured: mean ≤ 3.14, max 28), the structure is the same.
        const bool high = q == ScalingQuality::high;
        EXPECT_LE(d.mean, high ? 0.5 : 4.0) << bands << " bands " << out.w << "x" << out.h << " quality " << static_cast<int>(q);
        EXPECT_LE(d.max, high ? 3.0 : 40.0) << bands << " bands " << out.w << "x" << out.h << " quality " << static_cast<int>(q);
      }
    }
  }
}

TEST(Resample, KeepsFlatAreasAndEdgesExact) {
  std::vector<std::uint8_t> flat(100 * 80 * 3, 77);
  const Samples8 in{flat.data(), 100, 80, 3, 300};
  for (ScalingQuality q : {ScalingQuality::low, ScalingQuality::medium, ScalingQuality::high}) {
    auto out = resample8(in, {37, 29}, q);
    ASSERT_EQ(out.size(), 37u * 29u * 3u);
    for (auto v : out) ASSERT_EQ(v, 77);
  }
}

TEST(Resample, RefusesWhatTheLeanPathDoesNotTake) {
  std::vector<std::uint8_t> px(100 * 100, 1);
  const Samples8 grey{px.data(), 100, 100, 1, 100};
  EXPECT_TRUE(resample8(grey, {101, 100}, ScalingQuality::high).empty());  // upscaling
  EXPECT_TRUE(resample8(grey, {24, 100}, ScalingQuality::high).empty());   // shrink above 4
  EXPECT_TRUE(resample8({px.data(), 50, 50, 2, 100}, {25, 25}, ScalingQuality::high).empty());  // grey + alpha
  EXPECT_FALSE(resample8(grey, {25, 25}, ScalingQuality::high).empty());
}

TEST(Resample, VectorLoopsGiveTheSameBytesAsThePortableOnes) {
  // Sizes around the eight-pixel steps and the two-pixel tail, RGB and grey, each quality.
  std::uint32_t seed = 12345;
  auto next = [&] { return static_cast<std::uint8_t>((seed = seed * 1664525u + 1013904223u) >> 24); };
  for (int bands : {3, 1}) {
    for (auto [w, h, ow, oh] : std::vector<std::array<int, 4>>{
             {312, 250, 200, 160}, {2500, 2000, 2000, 1600}, {17, 9, 9, 5}, {30, 30, 11, 17}, {64, 3, 40, 2}, {19, 19, 18, 18}}) {
      std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * bands));
      for (auto& p : px) p = next();
      const Samples8 in{px.data(), w, h, bands, static_cast<std::size_t>(w * bands)};
      for (auto q : {ScalingQuality::medium, ScalingQuality::high, ScalingQuality::low}) {
        sipi::pipeline::detail::resample_simd = true;
        const auto fast = resample8(in, {ow, oh}, q);
        sipi::pipeline::detail::resample_simd = false;
        const auto plain = resample8(in, {ow, oh}, q);
        sipi::pipeline::detail::resample_simd = true;
        ASSERT_EQ(fast.size(), static_cast<std::size_t>(ow * oh * bands));
        EXPECT_TRUE(fast == plain) << w << "x" << h << " -> " << ow << "x" << oh << " bands " << bands;
      }
    }
  }
}
