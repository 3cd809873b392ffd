// Downscaling of 8-bit interleaved samples without libvips, for the lean thumbnail path
// (service/lean_render.cpp): two separable passes with precomputed fixed-point taps, on buffers
// the caller owns. libvips' resize costs more than the work itself for small outputs (a
// pipeline of GObjects per request, region bookkeeping, and its C loops since Orc is off:
// bench/results/2026-12-06-*-thumb-profile.md); this is the same arithmetic in a plain loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/config.h"
#include "core/geometry.h"

namespace sipi::pipeline {

struct Samples8 {
  const std::uint8_t* data = nullptr;
  std::int64_t w = 0, h = 0;
  int bands = 0;           // 1 or 3
  std::size_t stride = 0;  // bytes from one row to the next
};

// The largest shrink the taps are made for (1/scale per axis): above it, libvips' resize with its
// integer box shrink first.
inline constexpr double kMaxLeanShrink = 4.0;

// Resamples `in` to exactly `out` (each axis 1..in, shrink at most kMaxLeanShrink), rows packed.
// The kernel follows SIPI's scaling quality: low = nearest, medium = triangle (bilinear),
// high = Lanczos 3, both widened by the shrink so that every source pixel counts (as libvips'
// reduce does). Nothing for arguments outside that.
std::vector<std::uint8_t> resample8(const Samples8& in, Dim out, ScalingQuality quality);

namespace detail {
// For tests: false keeps resample8 to its portable loops (the AVX2 ones must give the same bytes).
extern bool resample_simd;
}

}  // namespace sipi::pipeline
