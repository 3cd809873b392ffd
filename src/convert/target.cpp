#include "convert/target.h"

#include <cstdio>
#include <cstdlib>

#include "encode/jp2_writer.h"
#include "pipeline/transform.h"

namespace sipi::convert {
namespace fs = std::filesystem;
using vips::VImage;

namespace {

// A profile to embed, written to a temporary file because libvips takes a file name.
struct ProfileFile {
  std::string path;
  explicit ProfileFile(const std::string& bytes) {
    char tmpl[] = "/tmp/sipi-icc-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return;
    path = tmpl;
    FILE* f = fdopen(fd, "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  ~ProfileFile() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

VImage apply_icc(const VImage& in, metadata::IccTarget t, bool keep16) {
  if (t == metadata::IccTarget::none) {
    VImage out = in.copy();
    if (out.get_typeof(VIPS_META_ICC_NAME)) out.remove(VIPS_META_ICC_NAME);
    return out;
  }
  ProfileFile profile(metadata::make_profile(t));
  auto interp = in.interpretation();
  if (interp == VIPS_INTERPRETATION_LAB || interp == VIPS_INTERPRETATION_LABS || interp == VIPS_INTERPRETATION_LABQ) {
    // CIELab is device-independent: libvips converts it to sRGB exactly, then lcms goes on.
    return apply_icc(pipeline::normalise_colour(in), t, keep16);
  }
  bool cmyk = interp == VIPS_INTERPRETATION_CMYK;
  bool grey = in.bands() <= 2 && !cmyk;
  auto opts = VImage::option()
                  ->set("output_profile", profile.path.c_str())
                  ->set("embedded", true)
                  ->set("intent", VIPS_INTENT_RELATIVE)
                  ->set("depth", keep16 && in.format() == VIPS_FORMAT_USHORT ? 16 : 8);
  // Without an embedded profile, assume what the pixels most likely are.
  opts->set("input_profile", cmyk ? "cmyk" : (grey ? "sgrey" : "srgb"));
  if (grey && t != metadata::IccTarget::gray) {
    // lcms wants the input to match its profile's colour space: widen grey to RGB first.
    VImage rgb = in.colourspace(in.format() == VIPS_FORMAT_USHORT ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
    opts->set("input_profile", "srgb");
    return rgb.icc_transform(profile.path.c_str(), opts);
  }
  return in.icc_transform(profile.path.c_str(), opts);
}

std::optional<Target> target_from(const std::string& name) {
  std::string n;
  for (char c : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (n == "jpg" || n == "jpeg") return Target::jpeg;
  if (n == "tif" || n == "tiff") return Target::tiff;
  if (n == "png") return Target::png;
  if (n == "webp") return Target::webp;
  if (n == "jp2" || n == "jpx") return Target::jp2;
  if (n == "j2k" || n == "j2c") return Target::j2k;
  return std::nullopt;
}

const char* target_name(Target t) {
  switch (t) {
    case Target::jpeg: return "jpg";
    case Target::tiff: return "tif";
    case Target::png: return "png";
    case Target::webp: return "webp";
    case Target::jp2: return "jpx";  // SIPI's name for JPEG 2000 (JP2 file format), in reports
    case Target::j2k: return "j2k";
  }
  return "?";
}

metadata::Container container(Target t) {
  switch (t) {
    case Target::jpeg: return metadata::Container::jpeg;
    case Target::tiff: return metadata::Container::tiff;
    case Target::png: return metadata::Container::png;
    case Target::webp: return metadata::Container::webp;
    case Target::jp2: return metadata::Container::jp2;
    case Target::j2k: return metadata::Container::j2k;
  }
  return metadata::Container::j2k;
}

VImage fit_format(const VImage& in, Target t) {
  VImage img = in;
  auto interp = img.interpretation();
  bool cmyk = interp == VIPS_INTERPRETATION_CMYK;
  bool lab = interp == VIPS_INTERPRETATION_LAB || interp == VIPS_INTERPRETATION_LABS || interp == VIPS_INTERPRETATION_LABQ;
  bool can_cmyk = t == Target::jpeg || t == Target::tiff || t == Target::jp2 || t == Target::j2k;
  bool can16 = t == Target::tiff || t == Target::png || t == Target::jp2 || t == Target::j2k;
  if (lab && t != Target::tiff) img = pipeline::normalise_colour(img);
  if (cmyk && !can_cmyk) img = pipeline::normalise_colour(img);  // through its ICC profile to sRGB
  if (img.format() != VIPS_FORMAT_UCHAR && img.format() != VIPS_FORMAT_USHORT) {
    img = pipeline::normalise_colour(img);
  }
  if (img.format() == VIPS_FORMAT_USHORT && !can16) {
    // Same colour space, fewer bits: the embedded profile stays valid.
    img = (img / 257.0).cast(VIPS_FORMAT_UCHAR).copy(VImage::option()->set(
        "interpretation", img.bands() <= 2 ? VIPS_INTERPRETATION_B_W : (cmyk ? VIPS_INTERPRETATION_CMYK : VIPS_INTERPRETATION_sRGB)));
  }
  if (t == Target::jpeg && pipeline::has_alpha(img)) {
    img = img.flatten(VImage::option()->set("background", std::vector<double>{img.format() == VIPS_FORMAT_USHORT ? 65535.0 : 255.0}))
              .cast(img.format());
  }
  return img;
}

Result<Ok> save(const VImage& img, Target t, const fs::path& path, const ConvertOptions& o, bool strip) {
  try {
    switch (t) {
      case Target::jpeg:
        img.jpegsave(path.c_str(), VImage::option()->set("Q", o.quality > 0 ? o.quality : 80)->set("strip", strip));
        break;
      case Target::png:
        img.pngsave(path.c_str(), VImage::option()->set("compression", 6)->set("strip", strip));
        break;
      case Target::webp:
        // Without an explicit quality WebP is written losslessly: a converter should not lose
        // pixels unless asked to.
        img.webpsave(path.c_str(), VImage::option()->set("Q", o.quality > 0 ? o.quality : 90)->set(
                                       "lossless", o.quality == 0)->set("strip", strip));
        break;
      case Target::tiff: {
        auto opts = VImage::option()->set("strip", strip);
        bool jpeg_tiles = o.quality > 0 && img.format() == VIPS_FORMAT_UCHAR;
        opts->set("compression", jpeg_tiles ? VIPS_FOREIGN_TIFF_COMPRESSION_JPEG : VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE);
        if (jpeg_tiles) opts->set("Q", o.quality);
        if (o.tiff_pyramid) opts->set("tile", true)->set("tile_width", 256)->set("tile_height", 256)->set("pyramid", true);
        img.tiffsave(path.c_str(), opts);
        break;
      }
      case Target::jp2:
      case Target::j2k: {
        encode::Jp2Params p = o.jp2;
        p.codestream_only = t == Target::j2k;
        if (o.quality > 0 && p.rates.empty()) {
          p.lossless = false;
          p.quality = o.quality;
        }
        // The ICC profile is added afterwards by exiv2 (OpenJPEG 2.5.0 cannot write it).
        auto r = encode::write_jp2(img, path, p, {});
        if (!r) return phase_error(r.error().status == Status::bad_request ? "cli_args" : "write", r.error().message);
        break;
      }
    }
  } catch (const vips::VError& e) {
    std::string m = e.what();
    vips_error_clear();
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return phase_error("write", m);
  }
  return Ok{};
}

Error phase_error(const std::string& phase, const std::string& message) {
  const Status s = phase == "cli_args" ? Status::bad_request : phase == "read" ? Status::not_found : Status::internal_error;
  return Error{s, phase, message};
}

}  // namespace sipi::convert
