// Encoders: one per IIIF output format, all writing to memory. This is where the lazy pipeline
// is finally evaluated, region by region.
#pragma once

#include <optional>
#include <string>
#include <vips/vips8>

#include "core/result.h"
#include "iiif/formats.h"

namespace sipi::encode {

struct Options {
  int quality = 80;  // JPEG / WebP / JPEG 2000 quality factor, 1..100
};

// JPEG of a small 8-bit grey or RGB image, computed and encoded on the calling thread; nothing
// when the image does not qualify or libjpeg fails (the caller then uses jpegsave). Errors: 500
// codec.decode when the pixels cannot be computed (a damaged source).
Result<std::optional<std::string>> encode_small_jpeg(const vips::VImage& img, int quality);
// The same from interleaved 8-bit rows (1 or 3 bands) the caller holds.
Result<std::optional<std::string>> encode_jpeg_pixels(const unsigned char* pixels, int w, int h, int bands,
                                                      std::size_t stride, int quality);

// A one-page PDF showing `rgb8` (8-bit grey or RGB), embedding `jpeg` (its JPEG encoding) as
// is. Errors: 500 codec.encode.
Result<std::string> encode_pdf(const vips::VImage& rgb8, const std::string& jpeg);

// Errors: 500 codec.encode (the message carries libvips' text for the log).
Result<std::string> encode(const vips::VImage& img, iiif::Format f, const Options& opts);

// The same written to `fd` (a spool file, from its current position) as the encoder produces
// it. JPEG and PNG stream: only a strip of the output is ever in memory. WebP, TIFF, JPEG 2000,
// GIF and PDF are whole in memory inside their encoders anyway, then written.
Result<Ok> encode_to(const vips::VImage& img, iiif::Format f, const Options& opts, int fd);
// Whether encode_to keeps no whole output in memory for `f`.
bool encoder_streams(iiif::Format f);

}  // namespace sipi::encode
