// The tile tables of a tiled TIFF's JPEG levels, for sending stored tiles as they are.
#include <tiffio.h>

#include "source/tiff/tiff.h"

namespace sipi::source {
namespace {

std::optional<StoredJpegLevel> read_level(TIFF* t) {
  uint16_t compression = 0, bits = 0, samples = 0, photometric = 0, planar = PLANARCONFIG_CONTIG;
  uint32_t tw = 0, th = 0, w = 0, h = 0;
  if (!TIFFIsTiled(t) || !TIFFGetField(t, TIFFTAG_COMPRESSION, &compression) || compression != COMPRESSION_JPEG) {
    return std::nullopt;
  }
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric);
  TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  uint32_t icc_len = 0;
  void* icc = nullptr;
  bool has_icc = TIFFGetField(t, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc_len > 0;
  uint16_t extra = 0;
  uint16_t* extra_types = nullptr;
  TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &extra, &extra_types);
  bool colour_ok = ((photometric == PHOTOMETRIC_YCBCR || photometric == PHOTOMETRIC_RGB) && samples == 3) ||
                   (photometric == PHOTOMETRIC_MINISBLACK && samples == 1);
  if (!colour_ok || bits != 8 || planar != PLANARCONFIG_CONTIG || has_icc || extra != 0 || tw == 0 || th == 0) {
    return std::nullopt;
  }
  StoredJpegLevel l;
  l.tile = {tw, th};
  l.rgb = photometric == PHOTOMETRIC_RGB;
  l.across = (static_cast<std::int64_t>(w) + tw - 1) / tw;
  l.down = (static_cast<std::int64_t>(h) + th - 1) / th;
  tmsize_t n = TIFFNumberOfTiles(t);
  if (n != l.across * l.down) return std::nullopt;
  l.offsets.resize(static_cast<std::size_t>(n));
  l.counts.resize(static_cast<std::size_t>(n));
  for (tmsize_t i = 0; i < n; ++i) {
    int err = 0;
    l.offsets[static_cast<std::size_t>(i)] = TIFFGetStrileOffsetWithErr(t, static_cast<uint32_t>(i), &err);
    if (err) return std::nullopt;
    l.counts[static_cast<std::size_t>(i)] = TIFFGetStrileByteCountWithErr(t, static_cast<uint32_t>(i), &err);
    if (err) return std::nullopt;
  }
  uint32_t tables_len = 0;
  void* tables = nullptr;
  if (TIFFGetField(t, TIFFTAG_JPEGTABLES, &tables_len, &tables) && tables && tables_len >= 4) {
    const auto* b = static_cast<const unsigned char*>(tables);
    if (b[0] != 0xFF || b[1] != 0xD8 || b[tables_len - 2] != 0xFF || b[tables_len - 1] != 0xD9) return std::nullopt;
    l.tables.assign(static_cast<const char*>(tables), tables_len);
  }
  return l;
}

}  // namespace

std::optional<StoredTiles> read_stored_tiles(const std::filesystem::path& path, const ImageShape& shape) {
  if (shape.tile.w == 0) return std::nullopt;
  TiffPtr t(TIFFOpen(path.c_str(), "rm"));
  if (!t) return std::nullopt;
  StoredTiles st;
  bool any = false;
  for (const Level& lv : shape.levels) {
    std::optional<StoredJpegLevel> l;
    bool at = TIFFSetDirectory(t.get(), static_cast<tdir_t>(lv.index));
    if (at && lv.subifd >= 0) {
      toff_t* subs = nullptr;
      uint16_t n = 0;
      at = TIFFGetField(t.get(), TIFFTAG_SUBIFD, &n, &subs) && subs && lv.subifd < n &&
           TIFFSetSubDirectory(t.get(), subs[lv.subifd]);
    }
    if (at) l = read_level(t.get());
    any = any || l.has_value();
    st.levels.push_back(std::move(l));
  }
  if (!any) return std::nullopt;
  return st;
}

}  // namespace sipi::source
