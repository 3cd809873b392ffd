// PNG and WebP: one level, decoded in full (neither format stores reduced resolutions).
#include "source/decoder.h"

namespace sipi::source {
namespace {

vips::VImage open(const std::filesystem::path& path, SourceFormat f, bool sequential) {
  // A truncated or corrupt file is an error, not a half-grey image.
  auto opts = vips::VImage::option()->set("access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)
                  ->set("fail_on", VIPS_FAIL_ON_ERROR);
  if (f == SourceFormat::png) return vips::VImage::pngload(path.c_str(), opts);
  return vips::VImage::webpload(path.c_str(), opts);
}

}  // namespace

Result<ImageShape> probe_single_level(const std::filesystem::path& path, SourceFormat f) {
  try {
    auto img = open(path, f, true);
    ImageShape s;
    s.format = f;
    s.size = {img.width(), img.height()};
    s.levels.push_back({s.size, 0, -1});
    return s;
  } catch (const vips::VError& e) {
    vips_error_clear();
    return Error::internal("codec.header", path.string() + ": " + e.what());
  }
}

vips::VImage load_single_level(const std::filesystem::path& path, SourceFormat f, bool sequential) {
  return open(path, f, sequential);
}

}  // namespace sipi::source
