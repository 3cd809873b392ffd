// TIFF: strips or tiles, BigTIFF, multi-page documents, and pyramids stored either as
// reduced-resolution pages (libvips' default) or as SubIFDs of each page (Photoshop, bfconvert,
// libvips with subifd=true). Directories are walked with libtiff: one open reads every level's
// header; libvips then decodes only the tiles a region touches.
#include <tiffio.h>

#include <memory>

#include "source/decoder.h"

namespace sipi::source {
namespace {

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

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

}  // namespace

void init_codecs() {
  TIFFSetWarningHandler(nullptr);
  TIFFSetErrorHandler(nullptr);
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

vips::VImage load_tiff(const std::filesystem::path& path, const Level& l, bool sequential) {
  auto opts = vips::VImage::option()->set("page", l.index)->set(
      "access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)->set("fail_on", VIPS_FAIL_ON_ERROR);
  if (l.subifd >= 0) opts->set("subifd", l.subifd);
  return vips::VImage::tiffload(path.c_str(), opts);
}

}  // namespace sipi::source
