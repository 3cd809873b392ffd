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
#include <atomic>
#include <thread>
#include <vector>
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

// Markers OpenJPH 0.9 skips as unsupported (COC, RGN, POC, PPT): a tile-part header with one of
// them (the main header: Jp2Index::openjph_main_header) is decoded by OpenJPEG instead. `pos` is
// the first marker segment after SOT's; the header must reach SOD within `bytes`.
bool tile_part_supported(const std::string& bytes, std::size_t pos) {
  while (pos + 4 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    if (p[0] != 0xFF) return false;
    if (p[1] == 0x93) return true;  // SOD
    if (p[1] == 0x53 || p[1] == 0x5E || p[1] == 0x5F || p[1] == 0x61) return false;
    pos += 2 + be16(p + 2);
  }
  return false;
}

// OpenJPH's input over jp2::Segments: it reads the tile-parts straight from the file and seeks
// over the packets of the resolutions it skips.
class SegmentsIn : public ojph::infile_base {
 public:
  explicit SegmentsIn(jp2::Segments& s) : s_(s) {}
  size_t read(void* p, size_t n) override { return s_.read(static_cast<char*>(p), n); }
  int seek(ojph::si64 off, enum infile_base::seek origin) override {
    const auto base = origin == OJPH_SEEK_SET ? 0 : origin == OJPH_SEEK_CUR ? static_cast<ojph::si64>(s_.pos())
                                                                             : static_cast<ojph::si64>(s_.total());
    return base + off >= 0 && s_.seek(static_cast<std::uint64_t>(base + off)) ? 0 : -1;
  }
  ojph::si64 tell() override { return static_cast<ojph::si64>(s_.pos()); }
  bool eof() override { return s_.pos() >= s_.total(); }

 private:
  jp2::Segments& s_;
};

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

// A tile on the reference grid.
struct Box {
  std::uint64_t x0, y0, x1, y1;
};

// Where decoded samples go: `rect` of the level, interleaved, 8 or 16 bits.
struct Target {
  void* pixels;
  Rect rect;
  int bands;
  bool wide;
};

enum class Outcome { done, declined, unreadable };

// Three lines of unsigned 8-bit samples (level-shifted by `offset`) into RGB triplets.
__attribute__((target_clones("avx2", "default"))) void interleave_rgb8(const ojph::si32* const* src, std::int32_t offset,
                                                                     std::int32_t max, std::size_t n, std::uint8_t* out) {
  const ojph::si32 *r = src[0], *g = src[1], *b = src[2];
  for (std::size_t i = 0; i < n; ++i) {
    out[3 * i] = static_cast<std::uint8_t>(std::clamp(r[i] + offset, 0, max));
    out[3 * i + 1] = static_cast<std::uint8_t>(std::clamp(g[i] + offset, 0, max));
    out[3 * i + 2] = static_cast<std::uint8_t>(std::clamp(b[i] + offset, 0, max));
  }
}

// The codestream of one tile: the main header with SIZ narrowed to `g`, the tile's parts as
// tile 0 (their headers from memory, their bodies from the file), EOC.
Outcome tile_codestream(const Jp2Index& ix, const jp2::File& f, std::uint64_t tile, const Box& g, jp2::Segments& cs) {
  std::string head = ix.main_header;
  put32(head, 2 + 6, static_cast<std::uint32_t>(g.x1));
  put32(head, 2 + 10, static_cast<std::uint32_t>(g.y1));
  put32(head, 2 + 14, static_cast<std::uint32_t>(g.x0));
  put32(head, 2 + 18, static_cast<std::uint32_t>(g.y0));
  put32(head, 2 + 30, static_cast<std::uint32_t>(g.x0));
  put32(head, 2 + 34, static_cast<std::uint32_t>(g.y0));
  cs.add_owned(std::move(head));
  for (const auto& p : ix.tiles[tile]) {
    // The tile-part header: SOT and what follows up to SOD (a few dozen bytes as a rule).
    std::string part(static_cast<std::size_t>(std::min<std::uint64_t>(p.length, 4096)), '\0');
    if (!f.read(p.offset, part.data(), part.size())) return Outcome::unreadable;
    if (!tile_part_supported(part, 12)) return Outcome::declined;
    part.resize(12);
    part[4] = part[5] = '\0';  // Isot: tile 0 of this codestream
    cs.add_owned(std::move(part));
    cs.add_file(p.offset + 12, p.length - 12);
  }
  cs.add_mem("\xFF\xD9", 2);
  return Outcome::done;
}

// Decodes one tile's codestream at level `reduce` and copies what `t.rect` needs of it. `l` is
// the tile on the level's grid.
Outcome decode_tile(jp2::Segments& cs, int reduce, const Box& l, const Target& t) {
  const std::uint64_t cx0 = std::max<std::uint64_t>(l.x0, t.rect.x), cx1 = std::min<std::uint64_t>(l.x1, t.rect.x + t.rect.w);
  const std::uint64_t cy0 = std::max<std::uint64_t>(l.y0, t.rect.y), cy1 = std::min<std::uint64_t>(l.y1, t.rect.y + t.rect.h);
  const auto nb = static_cast<ojph::ui32>(t.bands);
  try {
    SegmentsIn in(cs);
    ojph::codestream dec;
    dec.read_headers(&in);
    dec.restrict_input_resolution(static_cast<ojph::ui32>(reduce), static_cast<ojph::ui32>(reduce));
    auto siz = dec.access_siz();
    if (siz.get_recon_width(0) != l.x1 - l.x0 || siz.get_recon_height(0) != l.y1 - l.y0) {
      return Outcome::declined;  // not the geometry we computed: leave it to OpenJPEG
    }
    std::vector<SampleScale> scale;
    for (ojph::ui32 c = 0; c < nb; ++c) scale.emplace_back(static_cast<int>(siz.get_bit_depth(c)), siz.is_signed(c), t.wide);
    dec.set_planar(false);  // rows of every component in turn
    dec.create();
    // 8-bit RGB (the common case): the row's three lines interleaved in one pass. OpenJPH
    // fills every component's line of a row at its first pull, so all three stay valid.
    auto plain8 = [&](std::size_t c) {
      return scale[c].shift == 0 && scale[c].offset == scale[0].offset && scale[c].max == scale[0].max;
    };
    const bool rgb8 = nb == 3 && !t.wide && plain8(0) && plain8(1) && plain8(2);
    const ojph::si32* rgb[3] = {};
    for (std::uint64_t y = l.y0; y < l.y1; ++y) {
      for (std::size_t c = 0; c < nb; ++c) {
        ojph::ui32 comp = 0;
        ojph::line_buf* line = dec.pull(comp);
        if (y < cy0 || y >= cy1) continue;
        const auto cc = static_cast<std::size_t>(comp);
        const std::size_t row = (y - t.rect.y) * t.rect.w;
        const ojph::si32* src = line->i32 + (cx0 - l.x0);
        const std::size_t first = (row + (cx0 - t.rect.x)) * nb + cc, n = cx1 - cx0;
        if (rgb8) {
          rgb[cc] = src;
          if (c == 2) interleave_rgb8(rgb, scale[0].offset, scale[0].max, n, static_cast<std::uint8_t*>(t.pixels) + first - cc);
        } else if (!t.wide && scale[cc].shift == 0) {
          // 8-bit samples (the common case): no scaling, a loop the compiler keeps tight.
          auto* out = static_cast<std::uint8_t*>(t.pixels) + first;
          const std::int32_t offset = scale[cc].offset, max = scale[cc].max;
          for (std::size_t i = 0; i < n; ++i) out[i * nb] = static_cast<std::uint8_t>(std::clamp(src[i] + offset, 0, max));
        } else {
          for (std::size_t i = 0; i < n; ++i) put_sample(t.pixels, first + i * nb, scale[cc](src[i]), t.wide);
        }
      }
    }
    dec.close();
  } catch (const std::exception&) {
    return Outcome::declined;  // what OpenJPH rejects, OpenJPEG may still read
  }
  return Outcome::done;
}

}  // namespace

std::optional<Result<Pixels>> decode_ht_pixels(const std::filesystem::path& path, const Jp2Index& ix, int reduce,
                                               Rect rect, int threads) {
  auto fail = [&](const std::string& why) -> std::optional<Result<Pixels>> {
    return Result<Pixels>(Error::internal("codec.decode", path.string() + ": " + why));
  };
  if (!ix.openjph_main_header) return std::nullopt;
  jp2::File f(path);
  if (f.fd < 0) return fail("cannot open");
  warm_up();
  const std::uint64_t s = std::uint64_t{1} << reduce;
  auto level_of = [&](std::uint64_t p) { return (p + s - 1) / s; };  // reference grid → level
  const auto span = span_of(ix, reduce, rect);
  if (!span) return fail("empty region");
  const std::uint64_t tx0 = span->tx0, tx1 = span->tx1, ty0 = span->ty0, ty1 = span->ty1;

  Pixels out = Pixels::allocate(rect.w, rect.h, ix.components, ix.precision > 8);
  const Target target{out.data.get(), rect, ix.components, out.wide};
  const std::uint64_t across = std::min<std::uint64_t>(tx1, ix.tiles_across - 1) - tx0 + 1;
  const std::uint64_t down = std::min<std::uint64_t>(ty1, ix.tiles_down - 1) - ty0 + 1;
  // Each tile writes its own part of `out`: tiles may be decoded side by side. A tile that is
  // not done stops the others.
  std::atomic<std::uint64_t> next{0};
  std::atomic<int> worst{static_cast<int>(Outcome::done)};
  auto work = [&] {
    for (std::uint64_t k; (k = next.fetch_add(1)) < across * down && worst.load() == static_cast<int>(Outcome::done);) {
      const std::uint64_t tx = tx0 + k % across, ty = ty0 + k / across, tile = ty * ix.tiles_across + tx;
      const Box g{ix.xt_osiz + tx * ix.x_tsiz, ix.yt_osiz + ty * ix.y_tsiz,
                  std::min<std::uint64_t>(ix.xt_osiz + (tx + 1) * ix.x_tsiz, ix.x_siz),
                  std::min<std::uint64_t>(ix.yt_osiz + (ty + 1) * ix.y_tsiz, ix.y_siz)};
      jp2::Segments cs(f);
      Outcome o = ix.tiles[tile].empty() ? Outcome::unreadable : tile_codestream(ix, f, tile, g, cs);
      if (o == Outcome::done) o = decode_tile(cs, reduce, {level_of(g.x0), level_of(g.y0), level_of(g.x1), level_of(g.y1)}, target);
      int w = worst.load();
      while (static_cast<int>(o) > w && !worst.compare_exchange_weak(w, static_cast<int>(o))) {
      }
    }
  };
  std::vector<std::thread> helpers;
  const auto extra = static_cast<std::uint64_t>(std::max(threads, 1) - 1);
  for (std::uint64_t i = 0; i < std::min(extra, across * down - 1); ++i) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  if (worst.load() == static_cast<int>(Outcome::unreadable)) return fail("a tile is missing or cannot be read");
  if (worst.load() == static_cast<int>(Outcome::declined)) return std::nullopt;
  return Result<Pixels>(std::move(out));
}

std::optional<Result<vips::VImage>> decode_ht_region(const std::filesystem::path& path, const Jp2Index& ix,
                                                    const ImageShape& shape, int reduce, Rect rect, int threads) {
  auto px = decode_ht_pixels(path, ix, reduce, rect, threads);
  if (!px) return std::nullopt;
  if (!*px) return Result<vips::VImage>(px->error());
  auto img = adopt(std::move(**px), shape.cmyk, shape.icc);
  if (!img) return Result<vips::VImage>(Error::internal("codec.decode", path.string() + ": cannot wrap pixels"));
  return Result<vips::VImage>(*img);
}

}  // namespace sipi::source
