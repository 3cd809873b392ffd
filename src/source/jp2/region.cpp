// Decoding a region of a JPEG 2000 file through its tile index (index.h): OpenJPEG reads a
// virtual codestream of the main header and the tile-parts the region touches.
#include <algorithm>
#include <cstring>
#include <memory>

#include "source/jp2/file.h"
#include "source/jp2/index.h"
#include "source/pixels.h"
#include "support/openjpeg.h"

namespace sipi::source {
namespace {

using jp2::File;

using Virtual = jp2::Segments;

OPJ_SIZE_T v_read(void* buf, OPJ_SIZE_T n, void* user) {
  auto* v = static_cast<Virtual*>(user);
  std::size_t got = v->read(static_cast<char*>(buf), n);
  return got == 0 ? static_cast<OPJ_SIZE_T>(-1) : got;
}
OPJ_OFF_T v_skip(OPJ_OFF_T n, void* user) {
  auto* v = static_cast<Virtual*>(user);
  auto to = static_cast<std::int64_t>(v->pos()) + n;
  if (to < 0) return -1;
  v->seek(std::min<std::uint64_t>(static_cast<std::uint64_t>(to), v->total()));
  return n;
}
OPJ_BOOL v_seek(OPJ_OFF_T to, void* user) {
  auto* v = static_cast<Virtual*>(user);
  return to >= 0 && v->seek(static_cast<std::uint64_t>(to)) ? OPJ_TRUE : OPJ_FALSE;
}

// The reference-grid area OpenJPEG decodes, and where the wanted samples start on the level's
// grid (the level's own origin included).
struct Area {
  std::uint64_t x0, y0, x1, y1, lx, ly;
};

// Below this many pixels a region is not worth OpenJPEG's threads (their start costs more).
constexpr std::int64_t kThreadedMinPixels = 512 * 512;

// Decodes `a` of the codestream in `stream` at `reduce` and returns the rect.w × rect.h samples
// at (a.ox, a.oy) of it.
Result<Pixels> decode_area(const std::filesystem::path& path, opj_stream_t* stream, OPJ_CODEC_FORMAT format, int reduce,
                           const Area& a, Rect rect, int threads) {
  auto fail = [&](const std::string& why) { return Error::internal("codec.decode", path.string() + ": " + why); };
  opj::Codec codec(opj_create_decompress(format));
  std::string err;
  opj_set_info_handler(codec.get(), opj::quiet, nullptr);
  opj_set_warning_handler(codec.get(), opj::quiet, nullptr);
  opj_set_error_handler(codec.get(), opj::remember_first_error, &err);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) return fail("openjpeg setup");
  if (threads > 1 && rect.w * rect.h >= kThreadedMinPixels) opj_codec_set_threads(codec.get(), threads);
  opj_image_t* raw = nullptr;
  if (!opj_read_header(stream, codec.get(), &raw)) return fail("bad header: " + err);
  opj::Image image(raw);
  const std::uint64_t f = std::uint64_t{1} << reduce;
  const std::uint64_t ox = a.lx - (a.x0 + f - 1) / f, oy = a.ly - (a.y0 + f - 1) / f;
  if (!opj_set_decoded_resolution_factor(codec.get(), static_cast<OPJ_UINT32>(reduce)) ||
      !opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(a.x0), static_cast<OPJ_INT32>(a.y0),
                           static_cast<OPJ_INT32>(a.x1), static_cast<OPJ_INT32>(a.y1)) ||
      !opj_decode(codec.get(), stream, image.get()) || !opj_end_decompress(codec.get(), stream)) {
    return fail("decode failed: " + err);
  }
  const int bands = static_cast<int>(image->numcomps);
  int prec = 0;
  for (int c = 0; c < bands; ++c) {
    const auto& cp = image->comps[c];
    if (!cp.data || cp.w < ox + static_cast<std::uint64_t>(rect.w) || cp.h < oy + static_cast<std::uint64_t>(rect.h)) {
      return fail("decoded region has an unexpected size");
    }
    prec = std::max(prec, static_cast<int>(cp.prec));
  }
  Pixels out = Pixels::allocate(rect.w, rect.h, bands, prec > 8);
  for (int c = 0; c < bands; ++c) {
    const auto& cp = image->comps[c];
    const SampleScale scale(static_cast<int>(cp.prec), cp.sgnd != 0, out.wide);
    for (std::int64_t y = 0; y < rect.h; ++y) {
      const OPJ_INT32* src = cp.data + (oy + static_cast<std::uint64_t>(y)) * cp.w + ox;
      const std::size_t row = static_cast<std::size_t>(y * rect.w);
      for (std::size_t x = 0; x < static_cast<std::size_t>(rect.w); ++x) {
        put_sample(out.data.get(), (row + x) * static_cast<std::size_t>(bands) + static_cast<std::size_t>(c), scale(src[x]), out.wide);
      }
    }
  }
  return out;
}

}  // namespace

Result<Pixels> decode_jp2_pixels(const std::filesystem::path& path, const Jp2Index& ix, int reduce, Rect rect,
                                 int threads) {
  auto fail = [&](const std::string& why) { return Error::internal("codec.decode", path.string() + ": " + why); };
  File f(path);
  if (f.fd < 0) return fail("cannot open");
  // The rectangle on the full-resolution reference grid (image offset is 0 by construction).
  const auto span = span_of(ix, reduce, rect);
  if (!span) return fail("empty region");
  const auto [x0, y0, x1, y1, tx0, ty0, tx1, ty1] = *span;
  // The area OpenJPEG decodes: the region, or for HTJ2K the whole tiles around it.
  std::uint64_t dx0 = x0, dy0 = y0, dx1 = x1, dy1 = y1;
  if (ix.high_throughput) {
    auto down = [](std::uint64_t p, std::uint32_t o, std::uint32_t t) { return p < o ? 0 : o + (p - o) / t * t; };
    dx0 = down(x0, ix.xt_osiz, ix.x_tsiz);
    dy0 = down(y0, ix.yt_osiz, ix.y_tsiz);
    dx1 = std::min<std::uint64_t>(ix.x_siz, down(x1 - 1, ix.xt_osiz, ix.x_tsiz) + ix.x_tsiz);
    dy1 = std::min<std::uint64_t>(ix.y_siz, down(y1 - 1, ix.yt_osiz, ix.y_tsiz) + ix.y_tsiz);
  }

  Virtual v(f);
  v.add_mem(ix.main_header.data(), ix.main_header.size());
  for (std::uint64_t ty = ty0; ty <= ty1 && ty < ix.tiles_down; ++ty) {
    for (std::uint64_t tx = tx0; tx <= tx1 && tx < ix.tiles_across; ++tx) {
      const auto& parts = ix.tiles[ty * ix.tiles_across + tx];
      if (parts.empty()) return fail("tile missing from the codestream");
      for (const auto& p : parts) v.add_file(p.offset, p.length);
    }
  }
  static const char kEoc[2] = {'\xFF', '\xD9'};
  v.add_mem(kEoc, 2);

  opj::Stream stream(opj_stream_create(64 * 1024, OPJ_TRUE));
  opj_stream_set_user_data(stream.get(), &v, nullptr);
  opj_stream_set_user_data_length(stream.get(), v.total());
  opj_stream_set_read_function(stream.get(), v_read);
  opj_stream_set_skip_function(stream.get(), v_skip);
  opj_stream_set_seek_function(stream.get(), v_seek);
  const Area area{dx0, dy0, dx1, dy1, static_cast<std::uint64_t>(rect.x), static_cast<std::uint64_t>(rect.y)};
  return decode_area(path, stream.get(), OPJ_CODEC_J2K, reduce, area, rect, threads);
}

Result<Pixels> decode_jp2_file_pixels(const std::filesystem::path& path, const ImageShape& shape, int reduce,
                                      Rect rect, int threads) {
  opj::Stream stream(opj_stream_create_default_file_stream(path.c_str(), OPJ_TRUE));
  if (!stream) return Error::internal("codec.decode", path.string() + ": cannot open");
  const std::int64_t f = std::int64_t{1} << reduce;
  auto up = [f](std::int64_t v) { return (v + f - 1) / f; };
  const std::int64_t x0 = shape.origin.w, y0 = shape.origin.h, x1 = x0 + shape.size.w, y1 = y0 + shape.size.h;
  // The region on the reference grid: the level's samples start at its origin, up(x0). An HT
  // file is decoded whole (OpenJPEG 2.5.0 decodes parts of HT code-blocks wrongly).
  const std::int64_t lx = up(x0) + rect.x, ly = up(y0) + rect.y;
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  const Area area = shape.ht ? Area{u(x0), u(y0), u(x1), u(y1), u(lx), u(ly)}
                             : Area{u(std::max(x0, lx * f)), u(std::max(y0, ly * f)), u(std::min(x1, (lx + rect.w) * f)),
                                    u(std::min(y1, (ly + rect.h) * f)), u(lx), u(ly)};
  return decode_area(path, stream.get(), is_raw_codestream(path) ? OPJ_CODEC_J2K : OPJ_CODEC_JP2, reduce, area, rect,
                     threads);
}

Result<vips::VImage> decode_jp2_region(const std::filesystem::path& path, const Jp2Index& ix,
                                       const ImageShape& shape, int reduce, Rect rect, int threads) {
  auto px = decode_jp2_pixels(path, ix, reduce, rect, threads);
  if (!px) return px.error();
  auto img = adopt(std::move(*px), shape.cmyk, shape.icc);
  if (!img) return Error::internal("codec.decode", path.string() + ": cannot wrap pixels");
  return *img;
}

}  // namespace sipi::source
