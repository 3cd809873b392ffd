#include "encode/htj2k_writer.h"

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/openjph.h"

namespace sipi::encode {
namespace {

void put(std::string& s, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string box(const char* type, const std::string& payload) {
  std::string b;
  put(b, 8 + payload.size(), 4);
  b.append(type, 4);
  return b + payload;
}

// Signature, file type and JP2 header, as Grok and OpenJPEG write them for an HT codestream
// (brand 'jp2 ', ihdr compression type 7): what every JPEG 2000 reader with HT support opens.
std::string jp2_header(int W, int H, int nb, int depth, bool cmyk, bool alpha, const std::string& icc) {
  std::string out;
  out += box("jP  ", std::string("\r\n\x87\n", 4));
  std::string ftyp = "jp2 ";
  put(ftyp, 0, 4);
  ftyp += "jp2 ";
  out += box("ftyp", ftyp);

  std::string ihdr;
  put(ihdr, static_cast<std::uint64_t>(H), 4);
  put(ihdr, static_cast<std::uint64_t>(W), 4);
  put(ihdr, static_cast<std::uint64_t>(nb), 2);
  put(ihdr, static_cast<std::uint64_t>(depth - 1), 1);  // unsigned samples
  put(ihdr, 7, 1);                                      // JPEG 2000 compression
  put(ihdr, 0, 1);                                      // colour space known
  put(ihdr, 0, 1);                                      // no intellectual property box
  std::string colr;
  if (!icc.empty()) {
    put(colr, 2, 1);  // restricted ICC profile
    put(colr, 0, 2);
    colr += icc;
  } else {
    put(colr, 1, 1);  // enumerated
    put(colr, 0, 2);
    put(colr, cmyk ? 12 : nb <= 2 ? 17 : 16, 4);  // CMYK, greyscale, sRGB
  }
  std::string jp2h = box("ihdr", ihdr) + box("colr", colr);
  if (alpha) {
    std::string cdef;
    put(cdef, static_cast<std::uint64_t>(nb), 2);
    for (int c = 0; c < nb; ++c) {
      put(cdef, static_cast<std::uint64_t>(c), 2);
      put(cdef, c == nb - 1 ? 1 : 0, 2);                                 // opacity or colour
      put(cdef, c == nb - 1 ? 0 : static_cast<std::uint64_t>(c + 1), 2);  // whole image or colour c+1
    }
    jp2h += box("cdef", cdef);
  }
  out += box("jp2h", jp2h);
  return out;
}

// Hands OpenJPH's codestream bytes straight to the output file, after our boxes.
class FileOut : public ojph::outfile_base {
 public:
  explicit FileOut(std::FILE* f) : f_(f) {}
  size_t write(const void* p, size_t n) override {
    size_t w = std::fwrite(p, 1, n, f_);
    written_ += static_cast<ojph::si64>(w);
    return w;
  }
  ojph::si64 tell() override { return written_; }

 private:
  std::FILE* f_;
  ojph::si64 written_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Pushes the image through the codestream, a strip of rows at a time (libvips reads the source
// top to bottom; memory is bounded by the strip, OpenJPH keeps what its tiles need). Strips of
// 512 rows: a tiled source (a classic JPEG 2000 master in 512² tiles) decodes a band of tiles
// for every strip, so 64-row strips decoded each band eight times (5 MP master: 8.3 s, now 1.1 s).
void push_pixels(const vips::VImage& in, ojph::codestream& cs) {
  const int W = in.width(), H = in.height(), nb = in.bands();
  const bool sixteen = in.format() == VIPS_FORMAT_USHORT;
  constexpr int kStrip = 512;
  ojph::ui32 next = 0;
  ojph::line_buf* line = cs.exchange(nullptr, next);
  for (int y0 = 0; y0 < H; y0 += kStrip) {
    const int h = std::min(kStrip, H - y0);
    vips::VImage strip = in.extract_area(0, y0, W, h).copy_memory();
    for (int y = 0; y < h; ++y) {
      for (int c = 0; c < nb; ++c) {
        const auto comp = static_cast<std::size_t>(next);
        ojph::si32* dst = line->i32;
        if (sixteen) {
          const auto* row = static_cast<const std::uint16_t*>(strip.data()) + static_cast<std::size_t>(y) * W * nb;
          for (int x = 0; x < W; ++x) dst[x] = row[static_cast<std::size_t>(x) * nb + comp];
        } else {
          const auto* row = static_cast<const std::uint8_t*>(strip.data()) + static_cast<std::size_t>(y) * W * nb;
          for (int x = 0; x < W; ++x) dst[x] = row[static_cast<std::size_t>(x) * nb + comp];
        }
        line = cs.exchange(line, next);
      }
    }
  }
}

// What OpenJPH 0.9 cannot write, or a parameter out of range; nothing when `p` is fine.
std::optional<std::string> unsupported(const Jp2Params& p) {
  if (!p.rates.empty() || p.layers > 1) return "HTJ2K has no quality layers or rates (use --quality or --qstep)";
  if (p.sop || p.eph) return "HTJ2K is written without SOP/EPH markers";
  static const char* kOrders[] = {"LRCP", "RLCP", "RPCL", "PCRL", "CPRL"};
  if (std::find(std::begin(kOrders), std::end(kOrders), p.order) == std::end(kOrders)) return "progression order " + p.order;
  if (!valid_code_block(p.cblk_w, p.cblk_h)) return "code-block size must be powers of two, 4..1024, area <= 4096";
  if (p.qstep < 0 || p.qstep > 1) return "qstep must be in (0, 1]";
  return std::nullopt;
}

struct TileSize {
  int w, h;
};

void configure(ojph::codestream& cs, const vips::VImage& in, TileSize tile, int levels, bool cmyk, const Jp2Params& p) {
  const int nb = in.bands();
  ojph::param_siz siz = cs.access_siz();
  siz.set_image_extent(ojph::point(static_cast<ojph::ui32>(in.width()), static_cast<ojph::ui32>(in.height())));
  siz.set_tile_size(ojph::size(static_cast<ojph::ui32>(tile.w), static_cast<ojph::ui32>(tile.h)));
  siz.set_num_components(static_cast<ojph::ui32>(nb));
  const ojph::ui32 depth = in.format() == VIPS_FORMAT_USHORT ? 16 : 8;
  for (int c = 0; c < nb; ++c) siz.set_component(static_cast<ojph::ui32>(c), ojph::point(1, 1), depth, false);
  ojph::param_cod cod = cs.access_cod();
  cod.set_num_decomposition(static_cast<ojph::ui32>(levels));
  cod.set_block_dims(static_cast<ojph::ui32>(p.cblk_w), static_cast<ojph::ui32>(p.cblk_h));
  cod.set_progression_order(p.order.c_str());
  cod.set_color_transform(nb >= 3 && !cmyk);
  cod.set_reversible(p.lossless);
  if (p.precinct_w > 0) {
    std::vector<ojph::size> sizes(static_cast<std::size_t>(levels) + 1,
                                  ojph::size(static_cast<ojph::ui32>(p.precinct_w), static_cast<ojph::ui32>(p.precinct_h)));
    cod.set_precinct_size(levels + 1, sizes.data());
  }
  if (!p.lossless) cs.access_qcd().set_irrev_quant(ht_qstep(p));
  cs.set_planar(false);
}

}  // namespace

float ht_qstep(const Jp2Params& p) {
  if (p.qstep > 0) return p.qstep;
  // Quality 80 → 1/256 (about one grey level of an 8-bit image); every 10 points halve or
  // double the step. Figures for what each gives: docs/user-guide.md.
  const int q = p.quality > 0 ? std::clamp(p.quality, 1, 100) : 80;
  return static_cast<float>(std::pow(2.0, (80 - q) / 10.0) / 256.0);
}

Result<Ok> write_htj2k(const vips::VImage& in, const std::filesystem::path& out, const Jp2Params& p,
                       const std::string& icc) {
  const int W = in.width(), H = in.height(), nb = in.bands();
  const bool sixteen = in.format() == VIPS_FORMAT_USHORT;
  if (!(in.format() == VIPS_FORMAT_UCHAR || sixteen) || nb < 1 || nb > 5) {
    return Error::internal("codec.jp2", "unsupported pixel format for JPEG 2000");
  }
  if (auto bad = unsupported(p)) return Error::bad_request("jp2.params", *bad);
  const int tw = std::min(p.tile_w > 0 ? p.tile_w : kHtDefaultTile, W);
  const int th = std::min(p.tile_h > 0 ? p.tile_h : kHtDefaultTile, H);
  int levels = std::min(p.levels >= 0 ? p.levels : default_levels(W, H), 32);
  if (!p.lossless) {
    // OpenJPH 0.9's irreversible (9/7) path codes a tile row of at most 2^levels rows wrongly
    // (errors up to ~100 grey levels in the image's last, short tile row; reproduced with its own
    // ojph_compress/ojph_expand): keep 2^levels below the shortest tile row.
    const int shortest = H % th == 0 ? th : H % th;
    while (levels > 0 && (1 << levels) >= shortest) --levels;
  }
  const bool cmyk = in.interpretation() == VIPS_INTERPRETATION_CMYK;
  const bool alpha = nb == 2 || (nb == 4 && !cmyk) || nb == 5;

  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(out.c_str(), "wb"));
  if (!f) return Error::internal("codec.jp2", "cannot open " + out.string());
  const std::string head = jp2_header(W, H, nb, sixteen ? 16 : 8, cmyk, alpha, icc);
  const std::string jp2c_box = std::string(4, '\0') + "jp2c";  // length patched at the end
  std::fwrite(head.data(), 1, head.size(), f.get());
  std::fwrite(jp2c_box.data(), 1, jp2c_box.size(), f.get());

  ojph_glue::configure();
  ojph::si64 length = 0;
  try {
    ojph::codestream cs;
    configure(cs, in, {tw, th}, levels, cmyk, p);
    FileOut sink(f.get());
    cs.write_headers(&sink);
    push_pixels(in, cs);
    cs.flush();
    length = sink.tell();
    cs.close();
  } catch (const vips::VError& e) {
    std::string msg = e.what();
    vips_error_clear();
    return Error::internal("codec.decode", msg);
  } catch (const std::exception& e) {
    return Error::bad_request("jp2.params", "OpenJPH could not encode the image with these parameters");
  }
  // LBox 0 means "to the end of the file", allowed for the last box when the length does not
  // fit in 32 bits.
  const std::uint64_t box_len = static_cast<std::uint64_t>(length) + 8;
  std::string len;
  put(len, box_len <= 0xffffffffu ? box_len : 0, 4);
  if (std::fflush(f.get()) != 0 || fseeko(f.get(), static_cast<off_t>(head.size()), SEEK_SET) != 0 ||
      std::fwrite(len.data(), 1, 4, f.get()) != 4 || std::fclose(f.release()) != 0) {
    return Error::internal("codec.jp2", "cannot write " + out.string());
  }
  return Ok{};
}

}  // namespace sipi::encode
