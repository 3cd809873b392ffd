#include "source/tiff/region.h"

#include <tiffio.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <memory>
#include <string>

#include "source/pixels.h"
#include "source/tiff/tiff.h"

namespace sipi::source {
namespace {

struct Layout {
  std::uint32_t width = 0, height = 0, tw = 0, th = 0;
  std::uint16_t bits = 0, samples = 0;
  VipsInterpretation interpretation = VIPS_INTERPRETATION_sRGB;
  std::string icc;
};

struct Handle {
  std::string key;
  TiffPtr file;
  TIFF* tif = nullptr;  // file.get()
  Layout layout;
};

// The layouts this reader handles; libtiff turns JPEG's YCbCr into RGB (JPEGCOLORMODE).
std::optional<Layout> layout_of(TIFF* t) {
  Layout l;
  std::uint16_t planar = PLANARCONFIG_CONTIG, photometric = 0, format = SAMPLEFORMAT_UINT, compression = 0;
  if (!TIFFIsTiled(t)) return std::nullopt;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &l.width);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &l.height);
  TIFFGetField(t, TIFFTAG_TILEWIDTH, &l.tw);
  TIFFGetField(t, TIFFTAG_TILELENGTH, &l.th);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &l.bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric)) return std::nullopt;
  std::uint16_t extra = 0;
  std::uint16_t* extra_types = nullptr;
  TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &extra, &extra_types);
  if (extra > 1 || (extra == 1 && extra_types && extra_types[0] == EXTRASAMPLE_ASSOCALPHA)) return std::nullopt;
  if (planar != PLANARCONFIG_CONTIG || format != SAMPLEFORMAT_UINT || (l.bits != 8 && l.bits != 16) ||
      l.width == 0 || l.height == 0 || l.tw == 0 || l.th == 0 || l.tw > 8192 || l.th > 8192) {
    return std::nullopt;
  }
  const bool wide = l.bits == 16;
  const int colour = l.samples - extra;
  if (photometric == PHOTOMETRIC_MINISBLACK && colour == 1) {
    l.interpretation = wide ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
  } else if (photometric == PHOTOMETRIC_RGB && colour == 3) {
    l.interpretation = wide ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
  } else if (photometric == PHOTOMETRIC_YCBCR && colour == 3 && compression == COMPRESSION_JPEG && !wide) {
    if (!TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB)) return std::nullopt;
    l.interpretation = VIPS_INTERPRETATION_sRGB;
  } else if (photometric == PHOTOMETRIC_SEPARATED && colour == 4) {
    std::uint16_t inkset = INKSET_CMYK;
    TIFFGetFieldDefaulted(t, TIFFTAG_INKSET, &inkset);
    if (inkset != INKSET_CMYK) return std::nullopt;
    l.interpretation = VIPS_INTERPRETATION_CMYK;
  } else {
    return std::nullopt;
  }
  std::uint32_t icc_len = 0;
  void* icc = nullptr;
  if (TIFFGetField(t, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc && icc_len > 0) {
    l.icc.assign(static_cast<const char*>(icc), icc_len);
  }
  return l;
}

// A few open directories per worker thread, most recent first.
std::list<std::unique_ptr<Handle>>& thread_handles() {
  thread_local std::list<std::unique_ptr<Handle>> handles;
  return handles;
}

Handle* handle_for(const std::filesystem::path& path, std::int64_t version, const Level& level) {
  auto& handles = thread_handles();
  constexpr std::size_t kPerThread = 8;
  std::string key = path.string() + '\0' + std::to_string(version) + '\0' + std::to_string(level.index) + '\0' +
                    std::to_string(level.subifd);
  for (auto it = handles.begin(); it != handles.end(); ++it) {
    if ((*it)->key == key) {
      handles.splice(handles.begin(), handles, it);
      return handles.front().get();
    }
  }
  auto h = std::make_unique<Handle>();
  h->key = std::move(key);
  h->file.reset(TIFFOpen(path.c_str(), "rm"));  // 'm': no memory-mapping of files that may change
  h->tif = h->file.get();
  if (!h->tif || !TIFFSetDirectory(h->tif, static_cast<tdir_t>(level.index))) return nullptr;
  if (level.subifd >= 0) {
    toff_t* subs = nullptr;
    std::uint16_t n = 0;
    if (!TIFFGetField(h->tif, TIFFTAG_SUBIFD, &n, &subs) || !subs || level.subifd >= n) return nullptr;
    toff_t sub = subs[level.subifd];  // the array belongs to the directory being left
    if (!TIFFSetSubDirectory(h->tif, sub)) return nullptr;
  }
  auto l = layout_of(h->tif);
  if (!l) return nullptr;
  h->layout = std::move(*l);
  handles.push_front(std::move(h));
  if (handles.size() > kPerThread) handles.pop_back();
  return handles.front().get();
}

// A read failed: forget the handle, whatever state libtiff left it in.
void drop_handle(const Handle* h) {
  thread_handles().remove_if([h](const std::unique_ptr<Handle>& p) { return p.get() == h; });
}

}  // namespace

std::optional<vips::VImage> decode_tiff_region(const std::filesystem::path& path, std::int64_t version,
                                               const Level& level, Rect rect, std::int64_t max_pixels) {
  if (rect.w * rect.h > max_pixels) return std::nullopt;
  Handle* h = handle_for(path, version, level);
  if (!h) return std::nullopt;
  const Layout& l = h->layout;
  if (rect.x < 0 || rect.y < 0 || rect.x + rect.w > l.width || rect.y + rect.h > l.height) return std::nullopt;
  const std::size_t px = static_cast<std::size_t>(l.samples) * (l.bits / 8);
  const tmsize_t tile_bytes = TIFFTileSize(h->tif);
  if (tile_bytes != static_cast<tmsize_t>(px * l.tw * l.th)) return std::nullopt;
  std::unique_ptr<unsigned char[]> tile(new unsigned char[static_cast<std::size_t>(tile_bytes)]);
  const std::size_t row_bytes = static_cast<std::size_t>(rect.w) * px;
  void* out = g_malloc(row_bytes * static_cast<std::size_t>(rect.h));
  const std::int64_t tx0 = rect.x / l.tw, tx1 = (rect.x + rect.w - 1) / l.tw;
  const std::int64_t ty0 = rect.y / l.th, ty1 = (rect.y + rect.h - 1) / l.th;
  for (std::int64_t ty = ty0; ty <= ty1; ++ty) {
    for (std::int64_t tx = tx0; tx <= tx1; ++tx) {
      ttile_t index = TIFFComputeTile(h->tif, static_cast<std::uint32_t>(tx * l.tw), static_cast<std::uint32_t>(ty * l.th), 0, 0);
      if (TIFFReadEncodedTile(h->tif, index, tile.get(), tile_bytes) < 0) {
        g_free(out);
        drop_handle(h);
        return std::nullopt;  // libvips then reads it, and reports the damage
      }
      // The part of this tile inside the region.
      const std::int64_t x0 = std::max(rect.x, tx * l.tw), x1 = std::min(rect.x + rect.w, (tx + 1) * l.tw);
      const std::int64_t y0 = std::max(rect.y, ty * l.th), y1 = std::min(rect.y + rect.h, (ty + 1) * l.th);
      for (std::int64_t y = y0; y < y1; ++y) {
        const unsigned char* src = tile.get() + (static_cast<std::size_t>(y - ty * l.th) * l.tw +
                                                 static_cast<std::size_t>(x0 - tx * l.tw)) * px;
        unsigned char* dst = static_cast<unsigned char*>(out) + static_cast<std::size_t>(y - rect.y) * row_bytes +
                             static_cast<std::size_t>(x0 - rect.x) * px;
        std::memcpy(dst, src, static_cast<std::size_t>(x1 - x0) * px);
      }
    }
  }
  return adopt_pixels(out, row_bytes * static_cast<std::size_t>(rect.h), static_cast<int>(rect.w),
                      static_cast<int>(rect.h), l.samples, l.bits == 16, l.interpretation, l.icc);
}

}  // namespace sipi::source
