// JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale in the DCT domain ("shrink-on-load"), so each
// of those is a cheap level; Level::index is the shrink factor.
#include "source/codec.h"

namespace sipi::source {
namespace {

class JpegCodec final : public Codec {
 public:
  SourceFormat format() const override { return SourceFormat::jpeg; }
  std::string_view name() const override { return "JPEG"; }
  std::string_view mime() const override { return "image/jpeg"; }
  std::string_view mime_names() const override { return " image/jpeg image/pjpeg "; }
  std::string_view extensions() const override { return " .jpg .jpeg .jpe "; }
  Capabilities capabilities() const override { return {true, false, false, false, true}; }

  Result<ImageShape> probe(const std::filesystem::path& path, int) const override {
    try {
      auto img = vips::VImage::jpegload(path.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
      ImageShape s;
      s.format = SourceFormat::jpeg;
      s.size = {img.width(), img.height()};
      s.levels.push_back({s.size, 1, -1});
      for (int f : {2, 4, 8}) {
        // libvips' jpegload rounds a shrunk size down (1001 px at 1/2 is 500), and a side that
        // rounds to 0 trips an assertion that aborts the process: tiny images get no levels.
        Dim d{s.size.w / f, s.size.h / f};
        if (d.w < 8 || d.h < 8) break;
        s.levels.push_back({d, f, -1});
      }
      return s;
    } catch (const vips::VError& e) {
      vips_error_clear();
      return Error::internal("codec.header", path.string() + ": " + e.what());
    }
  }

  vips::VImage load(const std::filesystem::path& path, const ImageShape&, const Level& l, bool sequential) const override {
    return vips::VImage::jpegload(path.c_str(), vips::VImage::option()->set("shrink", l.index)->set(
        "access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)->set("fail_on", VIPS_FAIL_ON_ERROR));
  }
};

}  // namespace

const Codec& jpeg_codec() {
  static const JpegCodec c;
  return c;
}

}  // namespace sipi::source
