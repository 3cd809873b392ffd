#include "encode/jp2_writer.h"

#include "encode/htj2k_writer.h"

#include <openjpeg.h>

#include "metadata/metadata.h"
#include "support/openjpeg.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

namespace sipi::encode {
namespace {


bool parse_order(const std::string& s, OPJ_PROG_ORDER& out) {
  static const std::pair<const char*, OPJ_PROG_ORDER> kOrders[] = {
      {"LRCP", OPJ_LRCP}, {"RLCP", OPJ_RLCP}, {"RPCL", OPJ_RPCL}, {"PCRL", OPJ_PCRL}, {"CPRL", OPJ_CPRL}};
  for (const auto& [name, o] : kOrders) {
    if (s == name) {
      out = o;
      return true;
    }
  }
  return false;
}

int floor_log2(std::int64_t v) {
  int n = 0;
  while (v > 1) {
    v >>= 1;
    ++n;
  }
  return n;
}

}  // namespace

int default_levels(int width, int height) {
  return std::max(1, floor_log2(std::max(width, height) / 256 + 1) + 1);
}

bool valid_code_block(int w, int h) {
  return w >= 4 && h >= 4 && w <= 1024 && h <= 1024 && w * h <= 4096 && !(w & (w - 1)) && !(h & (h - 1));
}

bool parse_cmodes(const std::string& s, bool& ht) {
  // OpenJPH writes HT code-blocks in their one mode; classic mode switches are not offered.
  if (s == "HT" || s == "ht") {
    ht = true;
    return true;
  }
  return false;
}

bool parse_pair(const std::string& in, int& w, int& h) {
  std::string s;
  for (char c : in) {
    if (c != '{' && c != '}' && c != ' ') s.push_back(c);
  }
  auto comma = s.find(',');
  try {
    std::size_t used = 0;
    w = std::stoi(s.substr(0, comma), &used);
    if (used != (comma == std::string::npos ? s.size() : comma)) return false;
    h = comma == std::string::npos ? w : std::stoi(s.substr(comma + 1), &used);
    if (comma != std::string::npos && used != s.size() - comma - 1) return false;
  } catch (...) {
    return false;
  }
  return w > 0 && h > 0;
}

Result<Ok> write_jp2(const vips::VImage& in, const std::filesystem::path& out, const Jp2Params& p,
                     const std::string& icc) {
  if (p.ht) {
    if (p.codestream_only) return Error::bad_request("jp2.params", "HTJ2K is written as a JP2 file (.jp2, .jpx)");
    return write_htj2k(in, out, p, icc);
  }
  const int W = in.width(), H = in.height(), nb = in.bands();
  const bool sixteen = in.format() == VIPS_FORMAT_USHORT;
  if (!(in.format() == VIPS_FORMAT_UCHAR || sixteen) || nb < 1 || nb > 5) {
    return Error::internal("codec.jp2", "unsupported pixel format for JPEG 2000");
  }
  OPJ_PROG_ORDER order;
  if (!parse_order(p.order, order)) return Error::bad_request("jp2.params", "progression order " + p.order);

  opj_cparameters_t cp;
  opj_set_default_encoder_parameters(&cp);
  int tw = p.tile_w > 0 ? p.tile_w : 512, th = p.tile_h > 0 ? p.tile_h : 512;
  tw = std::min(tw, W);
  th = std::min(th, H);
  cp.tile_size_on = OPJ_TRUE;
  cp.cp_tdx = tw;
  cp.cp_tdy = th;
  // Levels: enough that the smallest resolution is about 256 px, but each tile must still hold
  // a pixel at the smallest level (OpenJPEG's constraint).
  int max_levels = std::max(0, std::min(floor_log2(tw), floor_log2(th)));
  int levels = p.levels >= 0 ? p.levels : default_levels(W, H);
  levels = std::min({levels, max_levels, 32});
  if (p.levels > max_levels) return Error::bad_request("jp2.params", "too many levels for the tile size");
  cp.numresolution = levels + 1;
  cp.prog_order = order;
  cp.irreversible = p.lossless ? 0 : 1;
  if (!valid_code_block(p.cblk_w, p.cblk_h)) {
    return Error::bad_request("jp2.params", "code-block size must be powers of two, 4..1024, area <= 4096");
  }
  cp.cblockw_init = p.cblk_w;
  cp.cblockh_init = p.cblk_h;
  if (p.precinct_w > 0) {
    cp.csty |= 0x01;
    cp.res_spec = cp.numresolution;
    for (int r = 0; r < cp.numresolution; ++r) {
      cp.prcw_init[r] = p.precinct_w;
      cp.prch_init[r] = p.precinct_h;
    }
  }
  if (p.sop) cp.csty |= 0x02;
  if (p.eph) cp.csty |= 0x04;
  // Layers: one per rate; a rate of 0 means "everything" (lossless in the last layer).
  std::vector<double> rates = p.rates;
  if (rates.empty() && !p.lossless) {
    int q = p.quality > 0 ? p.quality : 80;
    rates.push_back(std::max(1.0, 100.0 / q * 4.0));  // Q 80 → 5:1, Q 40 → 10:1
  }
  int layers = p.layers > 0 ? p.layers : std::max<int>(1, static_cast<int>(rates.size()));
  if (layers > 100) return Error::bad_request("jp2.params", "too many layers");
  cp.tcp_numlayers = layers;
  cp.cp_disto_alloc = 1;
  for (int l = 0; l < layers; ++l) {
    double r = l < static_cast<int>(rates.size()) ? rates[static_cast<std::size_t>(l)] : 0.0;
    cp.tcp_rates[l] = static_cast<float>(r);
  }
  // Rates must decrease layer by layer (0 = lossless is the smallest ratio).
  for (int l = 1; l < layers; ++l) {
    if (cp.tcp_rates[l] != 0 && cp.tcp_rates[l] > cp.tcp_rates[l - 1] && cp.tcp_rates[l - 1] != 0) {
      return Error::bad_request("jp2.params", "rates must decrease layer by layer");
    }
  }
  cp.tcp_mct = nb >= 3 && in.interpretation() != VIPS_INTERPRETATION_CMYK ? 1 : 0;

  std::vector<opj_image_cmptparm_t> comps(static_cast<std::size_t>(nb));
  for (auto& c : comps) {
    std::memset(&c, 0, sizeof c);
    c.dx = c.dy = 1;
    c.w = static_cast<OPJ_UINT32>(W);
    c.h = static_cast<OPJ_UINT32>(H);
    c.prec = sixteen ? 16 : 8;
    c.sgnd = 0;
  }
  OPJ_COLOR_SPACE cs = OPJ_CLRSPC_UNSPECIFIED;
  auto interp = in.interpretation();
  if (interp == VIPS_INTERPRETATION_CMYK) cs = OPJ_CLRSPC_CMYK;
  else if (nb <= 2) cs = OPJ_CLRSPC_GRAY;
  else cs = OPJ_CLRSPC_SRGB;
  opj::Image image(
      opj_image_tile_create(static_cast<OPJ_UINT32>(nb), comps.data(), cs));
  if (!image) return Error::internal("codec.jp2", "cannot create image");
  image->x0 = image->y0 = 0;
  image->x1 = static_cast<OPJ_UINT32>(W);
  image->y1 = static_cast<OPJ_UINT32>(H);
  bool alpha = (cs == OPJ_CLRSPC_GRAY && nb == 2) || (cs == OPJ_CLRSPC_SRGB && nb == 4) ||
               (cs == OPJ_CLRSPC_CMYK && nb == 5);
  if (alpha) image->comps[nb - 1].alpha = 1;
  if (!icc.empty() && !p.codestream_only) {
    // opj_image_destroy() releases it with free().
    image->icc_profile_buf = static_cast<OPJ_BYTE*>(std::malloc(icc.size()));
    std::memcpy(image->icc_profile_buf, icc.data(), icc.size());
    image->icc_profile_len = static_cast<OPJ_UINT32>(icc.size());
  }

  std::string error;
  opj::Codec codec(opj_create_compress(p.codestream_only ? OPJ_CODEC_J2K : OPJ_CODEC_JP2));
  opj_set_error_handler(codec.get(), opj::remember_first_error, &error);
  opj_set_warning_handler(codec.get(), opj::quiet, nullptr);
  opj_set_info_handler(codec.get(), opj::quiet, nullptr);
  // OpenJPEG 2.5 encodes code-blocks on several threads.
  opj_codec_set_threads(codec.get(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!opj_setup_encoder(codec.get(), &cp, image.get())) {
    return Error::bad_request("jp2.params", "OpenJPEG rejected the parameters: " + error);
  }
  opj::Stream stream(opj_stream_create_default_file_stream(out.c_str(), OPJ_FALSE));
  if (!stream) return Error::internal("codec.jp2", "cannot open " + out.string());
  if (!opj_start_compress(codec.get(), image.get(), stream.get())) {
    return Error::internal("codec.jp2", "start_compress: " + error);
  }

  const int tiles_x = (W + tw - 1) / tw, tiles_y = (H + th - 1) / th;
  const std::size_t bps = sixteen ? 2 : 1;
  std::vector<unsigned char> planar;
  try {
    for (int ty = 0; ty < tiles_y; ++ty) {
      int y0 = ty * th, h = std::min(th, H - y0);
      // One row of tiles at a time: bounded memory, and libvips reads the source top to bottom.
      vips::VImage strip = in.extract_area(0, y0, W, h).copy_memory();
      const auto* px = static_cast<const unsigned char*>(strip.data());
      for (int tx = 0; tx < tiles_x; ++tx) {
        int x0 = tx * tw, w = std::min(tw, W - x0);
        planar.resize(static_cast<std::size_t>(w) * h * nb * bps);
        unsigned char* dst = planar.data();
        for (int b = 0; b < nb; ++b) {
          for (int y = 0; y < h; ++y) {
            const unsigned char* row = px + (static_cast<std::size_t>(y) * W + x0) * nb * bps;
            for (int x = 0; x < w; ++x) {
              std::memcpy(dst, row + (static_cast<std::size_t>(x) * nb + b) * bps, bps);
              dst += bps;
            }
          }
        }
        if (!opj_write_tile(codec.get(), static_cast<OPJ_UINT32>(ty * tiles_x + tx), planar.data(),
                            static_cast<OPJ_UINT32>(planar.size()), stream.get())) {
          return Error::internal("codec.jp2", "write_tile: " + error);
        }
      }
    }
  } catch (const vips::VError& e) {
    std::string msg = e.what();
    vips_error_clear();
    return Error::internal("codec.decode", msg);
  }
  if (!opj_end_compress(codec.get(), stream.get())) return Error::internal("codec.jp2", "end_compress: " + error);
  stream.reset();  // flush and close before patching the header
  if (cs == OPJ_CLRSPC_CMYK && !p.codestream_only && !metadata::mark_jp2_cmyk(out)) {
    return Error::internal("codec.jp2", "cannot mark the colour box as CMYK");
  }
  return Ok{};
}

}  // namespace sipi::encode
