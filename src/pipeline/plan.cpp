#include "pipeline/plan.h"

#include <algorithm>

namespace sipi::pipeline {

Rect region_at_level(Rect r, Dim full, Dim level) {
  // 128-bit products: a header may claim sides up to 2^32 - 1 (found by fuzz/fuzz_image).
  auto lo = [](std::int64_t v, std::int64_t num, std::int64_t den) {
    return static_cast<std::int64_t>(static_cast<__int128>(v) * num / den);
  };
  auto hi = [](std::int64_t v, std::int64_t num, std::int64_t den) {
    return static_cast<std::int64_t>((static_cast<__int128>(v) * num + den - 1) / den);
  };
  std::int64_t x0 = lo(r.x, level.w, full.w), y0 = lo(r.y, level.h, full.h);
  std::int64_t x1 = std::min(level.w, hi(r.x + r.w, level.w, full.w));
  std::int64_t y1 = std::min(level.h, hi(r.y + r.h, level.h, full.h));
  x0 = std::min(x0, level.w - 1);
  y0 = std::min(y0, level.h - 1);
  return {x0, y0, std::max<std::int64_t>(1, x1 - x0), std::max<std::int64_t>(1, y1 - y0)};
}

std::size_t choose_level(const std::vector<Dim>& levels, Rect region, Dim out) {
  if (levels.empty()) return 0;
  const Dim full = levels[0];
  for (std::size_t i = levels.size(); i-- > 1;) {
    Rect at = region_at_level(region, full, levels[i]);
    if (at.w >= out.w && at.h >= out.h) return i;
  }
  return 0;
}

}  // namespace sipi::pipeline
