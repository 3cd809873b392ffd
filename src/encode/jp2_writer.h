// JPEG 2000 writer on OpenJPEG, for the options archives set and libvips does not expose:
// layers and rates, resolution levels, progression order, precincts, code-block size, SOP
// markers. Writes one row of tiles at a time, so memory is bounded by the tile height.
#pragma once

#include <filesystem>
#include <string>
#include <vector>
#include <vips/vips8>

#include "core/result.h"

namespace sipi::encode {

struct Jp2Params {
  bool codestream_only = false;   // .j2k/.j2c: raw codestream, no JP2 boxes
  bool lossless = true;           // reversible 5/3 wavelet; false = irreversible 9/7
  std::vector<double> rates;      // compression ratio per layer (e.g. 40,20,10); 0 or "X" = lossless
  int layers = 0;                 // 0: one per rate, or 1
  int levels = -1;                // decomposition levels; -1 = until the image fits in ~256 px
  std::string order = "RPCL";     // LRCP RLCP RPCL PCRL CPRL
  int tile_w = 0, tile_h = 0;     // 0 = 512×512, or the whole image when smaller
  int precinct_w = 0, precinct_h = 0;  // 0 = none (maximal precincts)
  int cblk_w = 64, cblk_h = 64;
  bool sop = false;
  bool eph = false;
  int quality = 0;                // 1..100 for lossy output without rates (maps to a ratio)
  bool ht = false;                // HTJ2K (Part 15) codestream, written by OpenJPH
  float qstep = 0;                // HTJ2K lossy: quantisation step (0 = from quality)
};

// Decomposition levels when none are asked for: until the whole image is about 256 px.
int default_levels(int width, int height);

// JPEG 2000's code-block rule: powers of two, 4..1024 each, area at most 4096.
bool valid_code_block(int w, int h);

// Kakadu's Cmodes value, e.g. "HT" or "HT|BYPASS": true and `ht` set when it asks for HT;
// false (an error) for a mode this writer does not offer.
bool parse_cmodes(const std::string& s, bool& ht);

// Parses "{256,256}" / "256,256" / "256" into w and h. Returns false on anything else.
bool parse_pair(const std::string& s, int& w, int& h);

// `img` must be 8 or 16 bit unsigned with 1–5 bands (grey, grey+alpha, RGB, RGBA, CMYK,
// CMYK+alpha). `icc` (may be empty) goes into the colr box. Errors: 400 jp2.params (invalid
// options), 500 codec.jp2 (encoder failure).
Result<Ok> write_jp2(const vips::VImage& img, const std::filesystem::path& out, const Jp2Params& p,
                     const std::string& icc);

}  // namespace sipi::encode
