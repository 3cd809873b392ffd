// TIFF: strips or tiles, BigTIFF, multi-page documents, and pyramids stored either as
// reduced-resolution pages (libvips' default) or as SubIFDs of each page (Photoshop, bfconvert,
// libvips with subifd=true). Directories are walked with libtiff: one open reads every level's
// header; libvips then decodes only the tiles a region touches.
#include <tiffio.h>

#include "source/codec.h"
#include "source/header_cache.h"
#include "source/tiff/region.h"
#include "source/tiff/tiff.h"

namespace sipi::source {
namespace {

struct Dir {
  Dim size;
  Dim tile;
  std::vector<toff_t> subifds;
};

Dir read_dir(TIFF* t) {
  Dir d;
  uint32_t w = 0, h = 0;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  d.size = {w, h};
  if (TIFFIsTiled(t)) {
    uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    d.tile = {tw, th};
  }
  uint16_t n = 0;
  toff_t* offsets = nullptr;
  if (TIFFGetField(t, TIFFTAG_SUBIFD, &n, &offsets) && offsets) d.subifds.assign(offsets, offsets + n);
  return d;
}

// True if `level` is `full` halved `k` times, rounding either way at each step.
bool is_reduction(Dim full, Dim level, int k) {
  std::int64_t f = std::int64_t{1} << k;
  auto near = [&](std::int64_t a, std::int64_t b) { return a >= b / f - 1 && a <= (b + f - 1) / f + 1; };
  return near(level.w, full.w) && near(level.h, full.h);
}

Result<ImageShape> probe_tiff(const std::filesystem::path& path, int page) {
  TiffPtr t(TIFFOpen(path.c_str(), "rm"));  // 'm': no memory-mapping of untrusted files
  if (!t) return Error::internal("codec.header", path.string() + ": not a readable TIFF");
  std::vector<Dir> dirs;
  do {
    dirs.push_back(read_dir(t.get()));
    if (dirs.size() > 10000) return Error::internal("codec.header", "too many TIFF directories");
  } while (TIFFReadDirectory(t.get()));
  for (const auto& d : dirs) {
    if (d.size.w < 1 || d.size.h < 1) return Error::internal("codec.header", "zero-sized TIFF page");
  }

  ImageShape s;
  s.format = SourceFormat::tiff;
  // Pages that are successive halvings of page 0 form a pyramid, not a document.
  bool page_pyramid = dirs.size() > 1;
  for (std::size_t i = 1; i < dirs.size() && page_pyramid; ++i) {
    page_pyramid = is_reduction(dirs[0].size, dirs[i].size, static_cast<int>(i));
  }
  if (page_pyramid) {
    if (page > 1) return Error::not_found("source.page_not_found", "pyramid TIFF has one page");
    for (std::size_t i = 0; i < dirs.size(); ++i) s.levels.push_back({dirs[i].size, static_cast<int>(i), -1});
    s.size = dirs[0].size;
    s.tile = dirs[0].tile;
    return s;
  }

  int index = page > 0 ? page - 1 : 0;
  if (index >= static_cast<int>(dirs.size())) {
    return Error::not_found("source.page_not_found", "page beyond the last TIFF page");
  }
  s.pages = static_cast<int>(dirs.size());
  s.page_index = index;
  const Dir& d = dirs[static_cast<std::size_t>(index)];
  s.size = d.size;
  s.tile = d.tile;
  s.levels.push_back({d.size, index, -1});
  for (std::size_t k = 0; k < d.subifds.size(); ++k) {
    if (!TIFFSetSubDirectory(t.get(), d.subifds[k])) break;
    Dir sub = read_dir(t.get());
    if (sub.size.w < 1 || sub.size.h < 1 || sub.size.w >= s.levels.back().size.w) break;
    s.levels.push_back({sub.size, index, static_cast<int>(k)});
  }
  return s;
}

// Tiled regions up to this size are read into one buffer by region.cpp (16 MP RGB is 48 MB);
// beyond, libvips streams them.
constexpr std::int64_t kDirectMaxPixels = 16 << 20;

class TiffCodec final : public Codec {
 public:
  SourceFormat format() const override { return SourceFormat::tiff; }
  std::string_view name() const override { return "TIFF"; }
  std::string_view mime() const override { return "image/tiff"; }
  std::string_view mime_names() const override { return " image/tiff "; }
  Capabilities capabilities() const override { return {true, true, true, true}; }

  Result<ImageShape> probe(const std::filesystem::path& path, int page) const override { return probe_tiff(path, page); }

  vips::VImage load(const std::filesystem::path& path, const ImageShape&, const Level& l, bool sequential) const override {
    auto opts = vips::VImage::option()->set("page", l.index)->set(
        "access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)->set("fail_on", VIPS_FAIL_ON_ERROR);
    if (l.subifd >= 0) opts->set("subifd", l.subifd);
    return vips::VImage::tiffload(path.c_str(), opts);
  }

  Result<vips::VImage> decode(const SourceHeader& h, const DecodeRequest& r) const override {
    if (auto v = decode_tiff_region(h.path, h.mtime_ns, h.shape.levels[r.level], r.at, kDirectMaxPixels)) return *v;
    return Codec::decode(h, r);
  }

  std::uint64_t decode_memory(const ImageShape& s, const DecodeRequest& r) const override {
    const auto px = static_cast<std::uint64_t>(r.at.w) * static_cast<std::uint64_t>(r.at.h);
    if (s.tile.w > 0 && px <= static_cast<std::uint64_t>(kDirectMaxPixels)) return px * kBytesPerPixel;  // one buffer
    return Codec::decode_memory(s, r);
  }

  std::optional<StoredTiles> stored_tiles(const std::filesystem::path& path, const ImageShape& s) const override {
    return read_stored_tiles(path, s);
  }
};

}  // namespace

const Codec& tiff_codec() {
  static const TiffCodec c;
  return c;
}

void init_tiff() {
  TIFFSetWarningHandler(nullptr);
  TIFFSetErrorHandler(nullptr);
}

}  // namespace sipi::source
