// HTJ2K (JPEG 2000 Part 15) writer on OpenJPH: the same JP2 file as the classic writer makes
// (signature, ftyp, jp2h with ihdr/colr/cdef, then the codestream), with a high-throughput
// codestream inside. Metadata boxes (ICC in colr, XMP/EXIF/IPTC, Essentials) are added
// afterwards by metadata/, exactly as for classic JPEG 2000.
#pragma once

#include <filesystem>
#include <string>
#include <vips/vips8>

#include "core/result.h"
#include "encode/jp2_writer.h"

namespace sipi::encode {

// Tile size when none is asked for: one codestream tile per IIIF tile of 256² (measured in
// docs/user-guide.md, "Serving JPEG 2000 fast").
inline constexpr int kHtDefaultTile = 256;

// The quantisation step used for lossy output: p.qstep when set, otherwise one derived from
// p.quality (1..100; 0 means 80). OpenJPH has no rate control, so quality maps to a step.
float ht_qstep(const Jp2Params& p);

// Same contract as write_jp2 (pixels, `icc` for the colr box). Lossless (reversible 5/3) unless
// p.lossless is false. Options OpenJPH cannot honour (layers, rates, SOP/EPH markers) are 400
// jp2.params.
Result<Ok> write_htj2k(const vips::VImage& img, const std::filesystem::path& out, const Jp2Params& p,
                       const std::string& icc);

}  // namespace sipi::encode
