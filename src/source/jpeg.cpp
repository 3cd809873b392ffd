// JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale in the DCT domain ("shrink-on-load"), so each
// of those is a cheap level.
#include "source/decoder.h"

namespace sipi::source {

Result<ImageShape> probe_jpeg(const std::filesystem::path& path) {
  try {
    auto img = vips::VImage::jpegload(path.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
    ImageShape s;
    s.format = SourceFormat::jpeg;
    s.size = {img.width(), img.height()};
    for (int f : {1, 2, 4, 8}) {
      Dim d{(s.size.w + f - 1) / f, (s.size.h + f - 1) / f};
      s.levels.push_back({d, f, -1});
    }
    return s;
  } catch (const vips::VError& e) {
    vips_error_clear();
    return Error::internal("codec.header", path.string() + ": " + e.what());
  }
}

vips::VImage load_jpeg(const std::filesystem::path& path, const Level& l, bool sequential) {
  return vips::VImage::jpegload(path.c_str(), vips::VImage::option()->set("shrink", l.index)->set(
      "access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)->set("fail_on", VIPS_FAIL_ON_ERROR));
}

}  // namespace sipi::source
