// Encoders: one per IIIF output format, all writing to memory. This is where the lazy pipeline
// is finally evaluated, region by region.
#pragma once

#include <string>
#include <vips/vips8>

#include "core/result.h"
#include "iiif/formats.h"

namespace sipi::encode {

struct Options {
  int quality = 80;  // JPEG / WebP / JPEG 2000 quality factor, 1..100
};

// Errors: 500 codec.encode (the message carries libvips' text for the log).
Result<std::string> encode(const vips::VImage& img, iiif::Format f, const Options& opts);

}  // namespace sipi::encode
