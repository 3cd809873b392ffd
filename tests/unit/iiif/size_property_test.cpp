// Property test: resolve_size against an independent model written from the spec text with
// long-double arithmetic (the implementation uses integer rounding), over random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>

#include "iiif/region.h"
#include "iiif/size.h"

namespace sipi::iiif {
namespace {

long long round_half_up(long double v) { return static_cast<long long>(std::floor(v + 0.5L)); }

// nullopt = the model expects a 400.
std::optional<Dim> model(const SizeSpec& s, long long pct_k, Dim r, const Limits& L) {
  long double rw = r.w, rh = r.h;
  long double w = 0, h = 0;
  switch (s.kind) {
    case SizeSpec::Kind::max:
      return std::nullopt;  // covered by the table tests
    case SizeSpec::Kind::width: w = s.w; h = round_half_up(rh * s.w / rw); break;
    case SizeSpec::Kind::height: h = s.h; w = round_half_up(rw * s.h / rh); break;
    case SizeSpec::Kind::percent:
      // pct = k / 100 exactly; the decimal text, not a binary double, decides the rounding.
      if (!s.upscale && pct_k > 10000) return std::nullopt;
      w = (2 * r.w * pct_k + 10000) / 20000; h = (2 * r.h * pct_k + 10000) / 20000; break;
    case SizeSpec::Kind::exact: w = s.w; h = s.h; break;
    case SizeSpec::Kind::confined: {
      long double scale = std::min(s.w / rw, s.h / rh);
      if (s.w / rw <= s.h / rh) { w = s.w; h = round_half_up(rh * scale); }
      else { h = s.h; w = round_half_up(rw * scale); }
      break;
    }
  }
  if (!s.upscale && (w > rw || h > rh)) return std::nullopt;
  if (w < 1 || h < 1) return std::nullopt;
  if (w > L.max_width || h > L.max_height || w * h > L.max_area) return std::nullopt;
  return Dim{static_cast<std::int64_t>(w), static_cast<std::int64_t>(h)};
}

TEST(SizeProperty, MatchesIndependentModel) {
  std::mt19937_64 rng(20261124);
  const Limits L{5000, 4000, 12000000};
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    Dim region{pick(1, 6000), pick(1, 6000)};
    SizeSpec s;
    s.kind = static_cast<SizeSpec::Kind>(pick(1, 5));
    s.upscale = pick(0, 1) == 1;
    s.w = pick(1, 7000);
    s.h = pick(1, 7000);
    long long pct_k = pick(1, 30000);
    s.pct = Decimal{pct_k, 100};
    auto got = resolve_size(s, region, L);
    auto want = model(s, pct_k, region, L);
    ASSERT_EQ(got.has_value(), want.has_value())
        << "kind " << static_cast<int>(s.kind) << " up " << s.upscale << " region " << region.w << "x" << region.h
        << " w " << s.w << " h " << s.h << " pct " << pct_k << "/100";
    if (want) {
      ASSERT_EQ(*got, *want) << "kind " << static_cast<int>(s.kind) << " region " << region.w << "x" << region.h;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10000);
}

TEST(SizeProperty, MaxNeverExceedsRegionOrLimits) {
  std::mt19937_64 rng(7);
  const Limits L{3000, 2000, 4000000};
  for (int i = 0; i < 100000; ++i) {
    Dim region{std::uniform_int_distribution<int>(1, 50000)(rng), std::uniform_int_distribution<int>(1, 50000)(rng)};
    Dim m = max_size(region, L);
    EXPECT_LE(m.w, region.w);
    EXPECT_LE(m.h, region.h);
    EXPECT_LE(m.w, L.max_width);
    EXPECT_LE(m.h, L.max_height);
    EXPECT_LE(m.w * m.h, L.max_area);
    EXPECT_GE(m.w, 1);
    EXPECT_GE(m.h, 1);
    Dim u = upscaled_max_size(region, L);
    EXPECT_LE(u.w * u.h, L.max_area);
    EXPECT_TRUE(u.w == L.max_width || u.h == L.max_height || u.w * u.h > L.max_area * 0.99 ||
                u.w <= 2 || u.h <= 2)
        << region.w << "x" << region.h << " -> " << u.w << "x" << u.h;  // as large as the limits allow
  }
}

TEST(RegionProperty, PixelRegionsStayInsideImage) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    Dim img{std::uniform_int_distribution<int>(1, 5000)(rng), std::uniform_int_distribution<int>(1, 5000)(rng)};
    RegionSpec s;
    s.kind = RegionSpec::Kind::pixels;
    s.x = {std::uniform_int_distribution<int>(0, 6000)(rng), 1};
    s.y = {std::uniform_int_distribution<int>(0, 6000)(rng), 1};
    s.w = {std::uniform_int_distribution<int>(1, 6000)(rng), 1};
    s.h = {std::uniform_int_distribution<int>(1, 6000)(rng), 1};
    auto r = resolve_region(s, img);
    bool inside = s.x.num < img.w && s.y.num < img.h;
    ASSERT_EQ(r.has_value(), inside);
    if (r) {
      EXPECT_EQ(r->w, std::min<std::int64_t>(s.w.num, img.w - r->x));
      EXPECT_EQ(r->h, std::min<std::int64_t>(s.h.num, img.h - r->y));
      EXPECT_LE(r->x + r->w, img.w);
      EXPECT_LE(r->y + r->h, img.h);
    }
  }
}

TEST(RegionProperty, PercentTilesCoverWithoutGapsOrOverlap) {
  // Ten pct:10 columns must tile every width exactly.
  for (std::int64_t W = 1; W < 3000; W += 7) {
    std::int64_t covered = 0, prev_end = 0;
    for (int k = 0; k < 10; ++k) {
      RegionSpec s{RegionSpec::Kind::percent, {10LL * k, 1}, {0, 1}, {10, 1}, {100, 1}};
      auto r = resolve_region(s, {W, 10});
      if (!r) continue;  // too narrow to hold a pixel
      EXPECT_EQ(r->x, prev_end) << W;
      prev_end = r->x + r->w;
      covered += r->w;
    }
    EXPECT_EQ(covered, W) << W;
  }
}

}  // namespace
}  // namespace sipi::iiif
