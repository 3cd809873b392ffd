// JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale in the DCT domain ("shrink-on-load"), so each
// of those is a cheap level; Level::index is the shrink factor.
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include "source/codec.h"

namespace sipi::source {
namespace {

// Whether the file is Huffman-coded (SOF0–3, 5–7) and so holds at least one bit per 8×8 block
// of its largest component in its DC scan: a header claiming more blocks than the data has
// bits is a damaged file or a bomb, which libjpeg would "decode" to grey with only a warning
// (libvips' fail_on cannot tell that warning from harmless ones). Arithmetic-coded files can
// be far smaller and are not checked.
bool data_too_short(const std::filesystem::path& path, std::int64_t w, std::int64_t h) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> b(1 << 16);
  in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
  const std::size_t n = static_cast<std::size_t>(in.gcount());
  bool huffman = false;
  for (std::size_t i = 2; i + 4 <= n && b[i] == 0xFF;) {
    const unsigned char m = b[i + 1];
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      huffman = m <= 0xC7;
      break;
    }
    i += 2 + ((std::size_t{b[i + 2]} << 8) | b[i + 3]);
  }
  struct stat st {};
  if (!huffman || ::stat(path.c_str(), &st) != 0) return false;
  const std::int64_t blocks = ((w + 7) / 8) * ((h + 7) / 8);
  return static_cast<std::int64_t>(st.st_size) * 8 < blocks;
}

class JpegCodec final : public Codec {
 public:
  SourceFormat format() const override { return SourceFormat::jpeg; }
  std::string_view name() const override { return "JPEG"; }
  std::string_view mime() const override { return "image/jpeg"; }
  std::string_view mime_names() const override { return " image/jpeg image/pjpeg "; }
  Capabilities capabilities() const override { return {true, false, false, false, true}; }

  Result<ImageShape> probe(const std::filesystem::path& path, int) const override {
    try {
      auto img = vips::VImage::jpegload(path.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
      ImageShape s;
      s.format = SourceFormat::jpeg;
      s.size = {img.width(), img.height()};
      if (data_too_short(path, s.size.w, s.size.h)) {
        return Error::internal("codec.header", path.string() + ": fewer bytes than its size needs");
      }
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
