// Picks, before any pixel is decoded, the resolution level to decode and the region of that
// level to read: the smallest level whose region still has at least as many pixels as the
// output, so that decoding never has to upscale and never reads more than it must.
#pragma once

#include <cstddef>
#include <vector>

#include "core/geometry.h"

namespace sipi::pipeline {

// `levels` holds each level's size, levels[0] being full resolution (`full`). `region` is in
// full-resolution pixels; `out` is the size after scaling (before rotation).
std::size_t choose_level(const std::vector<Dim>& levels, Rect region, Dim out);

// The full-resolution `region` mapped onto a level of size `level` (edges rounded outwards and
// clipped), so that it covers at least the same image area.
Rect region_at_level(Rect region, Dim full, Dim level);

}  // namespace sipi::pipeline
