#include "cli/convert.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/checksum.h"
#include "cli/describe.h"
#include "metadata/essentials.h"
#include "cli/output_file.h"
#include "iiif/size.h"
#include "metadata/icc.h"
#include "metadata/metadata.h"
#include "pipeline/plan.h"
#include "pipeline/transform.h"
#include "source/codec.h"

namespace sipi::cli {
namespace fs = std::filesystem;
using vips::VImage;

namespace {

enum class Target { jpeg, tiff, png, webp, jp2, j2k };

struct Failure {
  std::string phase;  // cli_args | read | convert | write
  std::string message;
  nlohmann::ordered_json image = nullptr;  // the input as read, once it was
};

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

// Brings pixels into what the target format can store, keeping the colour space (and so the
// embedded profile) whenever the format allows it.
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

VImage apply_watermark(const VImage& in, const std::string& path) {
  return pipeline::watermark(in, VImage::new_from_file(path.c_str()));
}

Failure save(const VImage& img, Target t, const fs::path& path, const ConvertOptions& o, bool strip) {
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
        if (!r) return {r.error().status == Status::bad_request ? "cli_args" : "write", r.error().message};
        break;
      }
    }
  } catch (const vips::VError& e) {
    std::string m = e.what();
    vips_error_clear();
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return {"write", m};
  }
  return {};
}

std::string one_line(std::string s) {
  for (auto& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// The output format as reports name it ("" when it cannot be told).
// The output format as asked for: --format, else the output's extension, else JPEG (as SIPI).
std::string format_text(const ConvertOptions& o) {
  if (!o.format.empty()) return o.format;
  auto ext = fs::path(o.output).extension().string();
  return ext.size() > 1 ? ext.substr(1) : "jpg";
}

std::string requested_format(const ConvertOptions& o) {
  auto t = target_from(format_text(o));
  return t ? target_name(*t) : "";
}

std::int64_t file_size_or_zero(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<std::int64_t>(st.st_size) : 0;
}

int report_failure(const ConvertOptions& o, const Failure& f) {
  if (o.error_out) {
    *o.error_out = one_line(f.message);
    return 1;
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["status"] = "error";
    j["mode"] = "cli";
    j["phase"] = f.phase;
    j["error_message"] = one_line(f.message);
    j["input_file"] = o.input;
    j["output_file"] = o.output;
    // As SIPI's reports (DSP's ingest requires these keys on every error): the format asked
    // for and the size of the input file.
    j["output_format"] = requested_format(o);
    j["file_size_bytes"] = file_size_or_zero(o.input);
    if (!f.image.is_null() && f.phase != "cli_args") j["image"] = f.image;
    std::cout << j.dump() << std::endl;
  }
  static const std::map<std::string, std::string> kVerb = {
      {"cli_args", "in arguments"}, {"read", "reading image"}, {"convert", "converting image"}, {"write", "writing image"}};
  std::cerr << "Error " << kVerb.at(f.phase) << ": " << one_line(f.message) << std::endl;
  return 1;
}

}  // namespace

int run_convert(const ConvertOptions& o) {
  const std::int64_t input_bytes = file_size_or_zero(o.input);  // before an in-place write replaces it
  // ---- arguments ----
  const std::string fmt = format_text(o);
  auto target = target_from(fmt);
  if (!target) return report_failure(o, {"cli_args", "unknown output format '" + fmt + "'"});
  if (o.role == Role::service && *target != Target::jp2 && *target != Target::tiff) {
    return report_failure(o, {"cli_args", "a service file is JPEG 2000 (.jp2, .jpx) or TIFF (.tif)"});
  }
  if (!o.region.empty() && (o.region.size() != 4 || o.region[2] <= 0 || o.region[3] <= 0 || o.region[0] < 0 || o.region[1] < 0)) {
    return report_failure(o, {"cli_args", "--region needs x y w h with w, h > 0"});
  }
  if (o.quality < 0 || o.quality > 100) return report_failure(o, {"cli_args", "--quality must be 1..100"});
  if (o.scale < 0 || o.reduce < 0 || o.reduce > 16) return report_failure(o, {"cli_args", "--scale/--reduce out of range"});
  if (o.mirror != "none" && o.mirror != "horizontal" && o.mirror != "vertical") {
    return report_failure(o, {"cli_args", "--mirror must be none, horizontal or vertical"});
  }
  metadata::IccTarget icc_target = metadata::IccTarget::none;
  bool convert_icc = !o.icc.empty();
  if (convert_icc) {
    if (o.icc == "none") icc_target = metadata::IccTarget::none;
    else if (o.icc == "sRGB" || o.icc == "srgb") icc_target = metadata::IccTarget::srgb;
    else if (o.icc == "AdobeRGB" || o.icc == "adobergb") icc_target = metadata::IccTarget::adobe_rgb;
    else if (o.icc == "GRAY" || o.icc == "gray") icc_target = metadata::IccTarget::gray;
    else return report_failure(o, {"cli_args", "--icc must be none, sRGB, AdobeRGB or GRAY"});
  }
  std::optional<iiif::SizeSpec> size;
  if (!o.size.empty()) {
    auto s = iiif::parse_size(o.size);
    if (!s) return report_failure(o, {"cli_args", "--size '" + o.size + "' is not a IIIF size"});
    size = *s;
  }
  std::error_code ec;
  // The output may be the input itself (DSP's top-left fix converts a file onto itself): the
  // result goes to a temporary file that replaces the input only once it is complete.

  // ---- read ----
  struct stat st {};
  if (::stat(o.input.c_str(), &st) != 0) return report_failure(o, {"read", o.input + ": no such file"});
  if (!S_ISREG(st.st_mode)) return report_failure(o, {"read", o.input + ": not a regular file"});
  auto shape = source::probe(o.input, o.pagenum);
  if (!shape) {
    const Error& e = shape.error();
    std::string why = e.detail == "source.unsupported_format" ? "not a TIFF, JPEG 2000, JPEG, PNG or WebP image"
                      : e.detail == "source.page_not_found" ? "no page " + std::to_string(o.pagenum)
                                                            : "unreadable or truncated image";
    return report_failure(o, {"read", o.input + ": " + why});
  }
  metadata::Bundle meta;
  if (!o.skipmeta) meta = metadata::read(o.input);  // warnings are shown once the output exists
  auto packet = metadata::read_essentials(o.input);
  if (!packet) return report_failure(o, {"read", o.input + ": " + packet.error().message});
  if (o.role == Role::access && !*packet) {
    return report_failure(o, {"read", o.input + ": not a service file (no Essentials packet)"});
  }
  std::size_t level = source::reduce_level(*shape, o.reduce);
  auto loaded = source::load_level(o.input, *shape, level, false);
  if (!loaded) return report_failure(o, {"read", o.input + ": " + loaded.error().message});
  const nlohmann::ordered_json input_described = describe_image(*loaded, meta.orientation());

  // ---- convert ----
  VImage img;
  int orientation = meta.orientation();
  try {
    img = *loaded;
    // A service file may keep the master's profile in its packet (JPEG 2000 could not hold it).
    if (*packet && (*packet)->restore_icc && !(*packet)->icc.empty() && img.get_typeof(VIPS_META_ICC_NAME) == 0) {
      img = img.copy();
      vips_image_set_blob_copy(img.get_image(), VIPS_META_ICC_NAME, (*packet)->icc.data(), (*packet)->icc.size());
    }
    if (level == 0 && o.reduce > 0) img = img.resize(1.0 / (1 << o.reduce));
    if (o.topleft) {
      // EXIF (JPEG) or TIFF orientation; libvips knows both as "orientation".
      if (img.get_typeof(VIPS_META_ORIENTATION) == 0 && orientation != 1) img.set(VIPS_META_ORIENTATION, orientation);
      img = img.autorot();
      orientation = 1;
      meta.set_orientation(1);
    }
    if (!o.region.empty()) {
      if (o.region[0] >= img.width() || o.region[1] >= img.height()) {
        return report_failure(o, {"cli_args", "--region starts outside the image"});
      }
      img = pipeline::crop(img, {o.region[0], o.region[1], std::min(o.region[2], img.width() - o.region[0]),
                                 std::min(o.region[3], img.height() - o.region[1])});
    }
    if (o.scale > 0) size = iiif::parse_size("^pct:" + std::to_string(o.scale)).value();
    if (size) {
      auto d = iiif::resolve_size(*size, {img.width(), img.height()}, iiif::Limits::none());
      if (!d) return report_failure(o, {"cli_args", "--size/--scale: " + d.error().detail});
      img = pipeline::scale(img, *d, ScalingQuality::high);
    }
    if (o.mirror == "vertical") img = img.flip(VIPS_DIRECTION_VERTICAL);
    iiif::Rotation rot{o.mirror == "horizontal", std::fmod(std::fmod(o.rotate, 360.0) + 360.0, 360.0)};
    bool alpha_target = *target == Target::png || *target == Target::webp || *target == Target::tiff;
    img = pipeline::rotate(img, rot, alpha_target);
    if (convert_icc) img = apply_icc(img, icc_target, *target != Target::jpeg && *target != Target::webp);
    if (!o.watermark.empty()) {
      if (!fs::is_regular_file(o.watermark, ec)) return report_failure(o, {"read", o.watermark + ": no such watermark file", input_described});
      img = apply_watermark(img, o.watermark);
    }
    img = fit_format(img, *target);
    if (o.skipmeta) {
      img = img.copy();
      for (const char* f : {VIPS_META_ICC_NAME, VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME, VIPS_META_IPTC_NAME}) {
        if (img.get_typeof(f)) img.remove(f);
      }
    }
    // EXIF/XMP/IPTC are written by exiv2 from the source's own blocks, not by libvips.
    img = img.copy();
    for (const char* f : {VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME, VIPS_META_IPTC_NAME, VIPS_META_ORIENTATION}) {
      if (img.get_typeof(f)) img.remove(f);
    }
  } catch (const vips::VError& e) {
    std::string m = e.what();
    vips_error_clear();
    return report_failure(o, {"convert", m, input_described});
  }
  meta.set_pixel_dimensions(img.width(), img.height());

  // ---- write ----
  OutputFile out(o.output);
  Failure f = save(img, *target, out.temp(), o, o.skipmeta);
  if (!f.phase.empty()) {
    // Pixels are decoded lazily, while the encoder pulls them: tell a broken input (truncated,
    // corrupt) from a failing output by decoding the input on its own.
    bool input_ok = true;
    try {
      (void)loaded->avg();
    } catch (const vips::VError&) {
      vips_error_clear();
      input_ok = false;
    }
    if (!input_ok) return report_failure(o, {"read", o.input + ": unreadable or truncated image"});
    return report_failure(o, {f.phase, f.message, input_described});
  }
  std::string jp2_icc = *target == Target::jp2 && !o.skipmeta ? icc_bytes(img) : std::string{};
  bool icc_in_packet = false;
  if (o.role == Role::service && !metadata::jp2_can_hold_icc(jp2_icc)) {
    icc_in_packet = true;  // not a "restricted" profile: JPEG 2000's colour box may not hold it
    jp2_icc.clear();
  }
  if (!o.skipmeta && (meta.has_exif() || meta.has_iptc() || meta.has_xmp() || !jp2_icc.empty())) {
    auto w = metadata::write(out.temp(), container(*target), meta, jp2_icc);
    if (!w) std::cerr << "Warning: metadata not written: " << one_line(w.error().message) << std::endl;
  }
  if (*target == Target::j2k) {
    img = img.copy();
    if (img.get_typeof(VIPS_META_ICC_NAME)) img.remove(VIPS_META_ICC_NAME);  // a codestream holds no profile
  }
  if (o.role == Role::service) {
    metadata::Essentials e;
    e.original_name = !o.original_name.empty() ? o.original_name
                      : *packet               ? (*packet)->original_name
                                              : fs::path(o.input).filename().string();
    e.original_mime = !o.original_mime.empty() ? o.original_mime
                      : *packet               ? (*packet)->original_mime
                                              : source::mime_type(shape->format);
    e.digest_name = "sha256";
    try {
      e.pixel_digest = pixel_digest(img, e.digest_name);
    } catch (const vips::VError& ex) {
      vips_error_clear();
      return report_failure(o, {"convert", ex.what(), input_described});
    }
    e.restore_icc = icc_in_packet;
    if (icc_in_packet) e.icc = icc_bytes(img);
    e.width = static_cast<unsigned>(img.width());
    e.height = static_cast<unsigned>(img.height());
    e.channels = static_cast<unsigned>(img.bands());
    e.bits = static_cast<unsigned>(bits_per_sample(img));
    if (auto written = source::probe(out.temp(), 0)) {
      e.tile_width = static_cast<unsigned>(written->tile.w);
      e.tile_height = static_cast<unsigned>(written->tile.h);
      e.levels = static_cast<unsigned>(written->levels.size());
    }
    auto w = metadata::write_essentials(out.temp(), container(*target), e);
    if (!w) return report_failure(o, {"write", w.error().message, input_described});
  }
  if (!out.commit()) return report_failure(o, {"write", o.output + ": cannot create the file", input_described});
  if (!o.error_out) {
    for (const auto& w : meta.warnings()) std::cerr << "Warning: " << one_line(w) << std::endl;
  }

  if (o.json) {
    nlohmann::ordered_json j;
    j["status"] = "ok";
    j["mode"] = "cli";
    j["input_file"] = o.input;
    j["output_file"] = o.output;
    j["output_format"] = target_name(*target);
    // SIPI reports the input's size here (the output's is on disc for whoever wants it).
    j["file_size_bytes"] = input_bytes;
    j["image"] = describe_image(img, orientation);
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

}  // namespace sipi::cli
