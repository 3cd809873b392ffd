// Pixel transforms, applied in the IIIF order (§4): region → size → mirror/rotation → quality.
// Each takes and returns a lazy libvips image; nothing is computed until the encoder pulls.
#pragma once

#include <vips/vips8>

#include "core/config.h"
#include "core/geometry.h"
#include "core/result.h"
#include "iiif/formats.h"
#include "iiif/rotation.h"

namespace sipi::pipeline {

// Crops `r` (in the image's own pixels).
vips::VImage crop(const vips::VImage& in, Rect r);

// Converts to 8-bit sRGB or 8-bit grey (alpha kept): embedded ICC profiles are applied, CMYK
// and CIELab are converted, 16-bit is reduced. Grey sources stay grey.
vips::VImage normalise_colour(const vips::VImage& in);

// Resizes to exactly `out` pixels (aspect may change, as `w,h` allows).
vips::VImage scale(const vips::VImage& in, Dim out, ScalingQuality quality);

// Mirrors (horizontal flip) and rotates clockwise. Right angles are lossless; other angles
// enlarge the canvas to hold the whole region, with a transparent background when `alpha` is
// true (the output format has alpha) and white otherwise.
vips::VImage rotate(const vips::VImage& in, const iiif::Rotation& r, bool alpha);

// default: as normalised; color: 3 bands; gray: 1 band; bitonal: 1 band of 0/255 (threshold
// 128 on grey, after flattening any alpha onto white).
vips::VImage apply_quality(const vips::VImage& in, iiif::Quality q);

bool has_alpha(const vips::VImage& in);

// Blends `mark` (grey or colour; its brightness is the strength) into `in`: scaled to fit,
// centred, lightening by up to 80 %. Used for restricted views and `sipi convert --watermark`.
vips::VImage watermark(const vips::VImage& in, const vips::VImage& mark);

// Metadata name set on apply_quality(bitonal) output, so encoders can write 1-bit files.
inline constexpr const char* kBitonalMark = "sipi-bitonal";

}  // namespace sipi::pipeline
