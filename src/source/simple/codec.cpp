// PNG and WebP: one level, decoded in full (neither format stores reduced resolutions).
#include <string>

#include "source/codec.h"

namespace sipi::source {
namespace {

class SingleLevelCodec final : public Codec {
 public:
  SingleLevelCodec(SourceFormat f, std::string_view name, std::string_view mime)
      : f_(f), name_(name), mime_(mime), names_(" " + std::string(mime) + " ") {}
  SourceFormat format() const override { return f_; }
  std::string_view name() const override { return name_; }
  std::string_view mime() const override { return mime_; }
  std::string_view mime_names() const override { return names_; }
  Capabilities capabilities() const override { return {}; }

  Result<ImageShape> probe(const std::filesystem::path& path, int) const override {
    try {
      auto img = open(path, true);
      ImageShape s;
      s.format = f_;
      s.size = {img.width(), img.height()};
      s.levels.push_back({s.size, 0, -1});
      return s;
    } catch (const vips::VError& e) {
      vips_error_clear();
      return Error::internal("codec.header", path.string() + ": " + e.what());
    }
  }

  vips::VImage load(const std::filesystem::path& path, const ImageShape&, const Level&, bool sequential) const override {
    return open(path, sequential);
  }

 private:
  vips::VImage open(const std::filesystem::path& path, bool sequential) const {
    // A truncated or corrupt file is an error, not a half-grey image.
    auto opts = vips::VImage::option()->set("access", sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM)
                    ->set("fail_on", VIPS_FAIL_ON_ERROR);
    if (f_ == SourceFormat::png) return vips::VImage::pngload(path.c_str(), opts);
    return vips::VImage::webpload(path.c_str(), opts);
  }
  SourceFormat f_;
  std::string_view name_, mime_;
  std::string names_;
};

}  // namespace

const Codec& png_codec() {
  static const SingleLevelCodec c(SourceFormat::png, "PNG", "image/png");
  return c;
}

const Codec& webp_codec() {
  static const SingleLevelCodec c(SourceFormat::webp, "WebP", "image/webp");
  return c;
}

}  // namespace sipi::source
