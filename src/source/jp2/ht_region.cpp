// Decoding a region of an HTJ2K file with OpenJPH, one codestream tile at a time. OpenJPH 0.9
// decodes whole images only, so each tile the region touches is handed over as a codestream of
// its own: the main header with SIZ narrowed to that tile (same reference-grid coordinates, so
// the wavelet sees exactly the samples it saw when the file was written) and the tile's parts
// renumbered as tile 0. At a reduced level OpenJPH skips the finer resolutions entirely.
#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "source/jp2/file.h"
#include "source/jp2/ht_region.h"
#include "source/pixels.h"
#include "support/openjph.h"

namespace sipi::source {
namespace {

using jp2::be16;
using jp2::be32;

void put32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

// Markers OpenJPH 0.9 skips as unsupported (COC, RGN, POC, PPT): a main header or tile-part
// header with one of them is decoded by OpenJPEG instead. `pos` is the first marker segment;
// the walk ends at SOD (a tile-part) or at the end of `bytes` (the main header).
bool segments_supported(const std::string& bytes, std::size_t pos) {
  while (pos + 4 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    if (p[0] != 0xFF) return false;
    if (p[1] == 0x93) return true;  // SOD
    if (p[1] == 0x53 || p[1] == 0x5E || p[1] == 0x5F || p[1] == 0x61) return false;
    pos += 2 + be16(p + 2);
  }
  return pos == bytes.size();
}

// OpenJPH picks its SIMD routines at first use behind a plain flag: one decode before any
// concurrent use (call_once makes the others wait).
void warm_up() {
  static std::once_flag once;
  std::call_once(once, [] {
    ojph_glue::configure();
    try {
    ojph::mem_outfile out;
    out.open();
    ojph::codestream enc;
    auto siz = enc.access_siz();
    siz.set_image_extent(ojph::point(8, 8));
    siz.set_num_components(1);
    siz.set_component(0, ojph::point(1, 1), 8, false);
    enc.access_cod().set_num_decomposition(1);
    enc.access_cod().set_reversible(true);
    enc.access_cod().set_color_transform(false);
    enc.write_headers(&out);
    ojph::ui32 next = 0;
    ojph::line_buf* line = enc.exchange(nullptr, next);
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) line->i32[x] = x * y;
      line = enc.exchange(line, next);
    }
    enc.flush();
    const std::string bytes(reinterpret_cast<const char*>(out.get_data()), static_cast<std::size_t>(out.tell()));
    enc.close();  // also closes (frees) the memory file
    ojph::mem_infile in;
    in.open(reinterpret_cast<const ojph::ui8*>(bytes.data()), bytes.size());
    ojph::codestream dec;
    dec.read_headers(&in);
    dec.create();
    for (int y = 0; y < 8; ++y) dec.pull(next);
    dec.close();
    } catch (const std::exception&) {
      // Only a warm-up: a real decode reports its own failure.
    }
  });
}

}  // namespace

std::optional<Result<vips::VImage>> decode_ht_region(const std::filesystem::path& path, const Jp2Index& ix,
                                                    const ImageShape& shape, int reduce, Rect rect) {
  auto fail = [&](const std::string& why) -> std::optional<Result<vips::VImage>> {
    return Result<vips::VImage>(Error::internal("codec.decode", path.string() + ": " + why));
  };
  if (!segments_supported(ix.main_header, 2)) return std::nullopt;
  jp2::File f(path);
  if (f.fd < 0) return fail("cannot open");
  warm_up();
  const std::uint64_t s = std::uint64_t{1} << reduce;
  auto level_of = [&](std::uint64_t p) { return (p + s - 1) / s; };  // reference grid → level
  const std::uint64_t x0 = rect.x * s, y0 = rect.y * s;
  const std::uint64_t x1 = std::min<std::uint64_t>(ix.x_siz, (rect.x + rect.w) * s);
  const std::uint64_t y1 = std::min<std::uint64_t>(ix.y_siz, (rect.y + rect.h) * s);
  if (x0 >= x1 || y0 >= y1) return fail("empty region");
  auto tile_of = [](std::uint64_t p, std::uint32_t origin, std::uint32_t size) { return p < origin ? 0 : (p - origin) / size; };
  const std::uint64_t tx0 = tile_of(x0, ix.xt_osiz, ix.x_tsiz), tx1 = tile_of(x1 - 1, ix.xt_osiz, ix.x_tsiz);
  const std::uint64_t ty0 = tile_of(y0, ix.yt_osiz, ix.y_tsiz), ty1 = tile_of(y1 - 1, ix.yt_osiz, ix.y_tsiz);

  const int bands = static_cast<int>(be16(reinterpret_cast<const unsigned char*>(ix.main_header.data()) + 40));
  int prec = 0;
  for (int c = 0; c < bands; ++c) {
    prec = std::max(prec, (static_cast<unsigned char>(ix.main_header[static_cast<std::size_t>(42 + 3 * c)]) & 0x7F) + 1);
  }
  const bool wide = prec > 8;
  const std::size_t n = static_cast<std::size_t>(rect.w) * static_cast<std::size_t>(rect.h);
  const std::size_t bytes = n * static_cast<std::size_t>(bands) * (wide ? 2 : 1);
  std::unique_ptr<void, decltype(&g_free)> out(g_malloc(bytes), &g_free);

  for (std::uint64_t ty = ty0; ty <= ty1 && ty < ix.tiles_down; ++ty) {
    for (std::uint64_t tx = tx0; tx <= tx1 && tx < ix.tiles_across; ++tx) {
      const auto& parts = ix.tiles[ty * ix.tiles_across + tx];
      if (parts.empty()) return fail("tile missing from the codestream");
      // The tile on the reference grid.
      const std::uint64_t gx0 = std::max<std::uint64_t>(ix.xt_osiz + tx * ix.x_tsiz, 0);
      const std::uint64_t gy0 = std::max<std::uint64_t>(ix.yt_osiz + ty * ix.y_tsiz, 0);
      const std::uint64_t gx1 = std::min<std::uint64_t>(ix.xt_osiz + (tx + 1) * ix.x_tsiz, ix.x_siz);
      const std::uint64_t gy1 = std::min<std::uint64_t>(ix.yt_osiz + (ty + 1) * ix.y_tsiz, ix.y_siz);
      std::string cs = ix.main_header;
      put32(cs, 2 + 6, static_cast<std::uint32_t>(gx1));
      put32(cs, 2 + 10, static_cast<std::uint32_t>(gy1));
      put32(cs, 2 + 14, static_cast<std::uint32_t>(gx0));
      put32(cs, 2 + 18, static_cast<std::uint32_t>(gy0));
      put32(cs, 2 + 30, static_cast<std::uint32_t>(gx0));
      put32(cs, 2 + 34, static_cast<std::uint32_t>(gy0));
      for (const auto& p : parts) {
        std::string part(p.length, '\0');
        if (!f.read(p.offset, part.data(), part.size())) return fail("cannot read a tile");
        if (!segments_supported(part, 12)) return std::nullopt;  // after SOT's segment
        part[4] = part[5] = '\0';  // Isot: tile 0 of this codestream
        cs += part;
      }
      cs += "\xFF\xD9";

      // The tile at the level, and the part of it that `rect` needs.
      const std::uint64_t lx0 = level_of(gx0), ly0 = level_of(gy0), lx1 = level_of(gx1), ly1 = level_of(gy1);
      const std::uint64_t cx0 = std::max<std::uint64_t>(lx0, rect.x), cx1 = std::min<std::uint64_t>(lx1, rect.x + rect.w);
      const std::uint64_t cy0 = std::max<std::uint64_t>(ly0, rect.y), cy1 = std::min<std::uint64_t>(ly1, rect.y + rect.h);
      try {
        ojph::mem_infile in;
        in.open(reinterpret_cast<const ojph::ui8*>(cs.data()), cs.size());
        ojph::codestream dec;
        dec.read_headers(&in);
        dec.restrict_input_resolution(static_cast<ojph::ui32>(reduce), static_cast<ojph::ui32>(reduce));
        auto siz = dec.access_siz();
        if (siz.get_recon_width(0) != lx1 - lx0 || siz.get_recon_height(0) != ly1 - ly0) {
          return std::nullopt;  // not the geometry we computed: leave it to OpenJPEG
        }
        std::vector<std::int32_t> offset(static_cast<std::size_t>(bands)), max(static_cast<std::size_t>(bands));
        std::vector<int> shift(static_cast<std::size_t>(bands));
        for (int c = 0; c < bands; ++c) {
          const auto b = static_cast<int>(siz.get_bit_depth(static_cast<ojph::ui32>(c)));
          offset[static_cast<std::size_t>(c)] = siz.is_signed(static_cast<ojph::ui32>(c)) ? (1 << (b - 1)) : 0;
          max[static_cast<std::size_t>(c)] = (1 << b) - 1;
          shift[static_cast<std::size_t>(c)] = (wide ? 16 : 8) - b;
        }
        dec.set_planar(false);  // rows of every component in turn
        dec.create();
        for (std::uint64_t y = ly0; y < ly1; ++y) {
          for (int c = 0; c < bands; ++c) {
            ojph::ui32 comp = 0;
            ojph::line_buf* line = dec.pull(comp);
            if (y < cy0 || y >= cy1) continue;
            const auto cc = static_cast<std::size_t>(comp);
            const std::size_t row = (y - rect.y) * rect.w;
            for (std::uint64_t x = cx0; x < cx1; ++x) {
              std::int32_t v = std::clamp(line->i32[x - lx0] + offset[cc], 0, max[cc]);
              const std::uint32_t o = shift[cc] >= 0 ? static_cast<std::uint32_t>(v) << shift[cc]
                                                     : static_cast<std::uint32_t>(v) >> -shift[cc];
              const std::size_t i = (row + (x - rect.x)) * static_cast<std::size_t>(bands) + cc;
              if (wide) {
                static_cast<std::uint16_t*>(out.get())[i] = static_cast<std::uint16_t>(o);
              } else {
                static_cast<std::uint8_t*>(out.get())[i] = static_cast<std::uint8_t>(o);
              }
            }
          }
        }
        dec.close();
      } catch (const std::exception&) {
        return std::nullopt;  // what OpenJPH rejects, OpenJPEG may still read
      }
    }
  }
  VipsInterpretation interp = bands >= 3 ? (wide ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB)
                                         : (wide ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W);
  if (shape.cmyk && bands == 4) interp = VIPS_INTERPRETATION_CMYK;
  auto img = adopt_pixels(out.release(), bytes, static_cast<int>(rect.w), static_cast<int>(rect.h), bands, wide, interp, shape.icc);
  if (!img) return fail("cannot wrap pixels");
  return Result<vips::VImage>(*img);
}

}  // namespace sipi::source
