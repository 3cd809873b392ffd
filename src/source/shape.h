// What a source image looks like before any pixel is decoded: format, size, the resolution
// levels it can decode cheaply and its native tiling. Built by Codec::probe from headers only.
#pragma once

#include <string>
#include <vector>

#include "core/geometry.h"

namespace sipi::source {

enum class SourceFormat { tiff, jp2, jpeg, png, webp };

// The MIME type of a source format (what libmagic, and so SIPI, reports).
const char* mime_type(SourceFormat f);

// One decodable resolution. `index` and `subifd` belong to the codec that made the level (only it
// reads them): a TIFF directory and SubIFD, a JPEG 2000 discard-level count, a JPEG shrink factor.
struct Level {
  Dim size;
  int index = 0;
  int subifd = -1;  // TIFF: SubIFD number within `index`'s directory, -1 = the directory itself
};

struct ImageShape {
  SourceFormat format = SourceFormat::tiff;
  Dim size;                   // full resolution of the selected page
  int pages = 1;              // document pages (pyramid levels are not pages)
  int page_index = 0;         // selected page, 0-based
  std::vector<Level> levels;  // levels[0] is full resolution; then smaller and smaller
  Dim tile;                   // native tile size, {0,0} when not tiled
  std::string icc;            // JPEG 2000: the colr box's ICC profile, which libvips 8.14 does not attach
  bool cmyk = false;          // JPEG 2000: enumerated CMYK, which libvips 8.14 reads as RGBA
  Dim origin;                 // JPEG 2000: the image offset (SIZ XOsiz, YOsiz), which libvips 8.14 mishandles
  bool ht = false;            // JPEG 2000: an HTJ2K (Part 15) codestream
};

}  // namespace sipi::source
