#include "convert/convert.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>

#include "convert/checksum.h"
#include "convert/describe.h"
#include "convert/output_file.h"
#include "metadata/icc.h"
#include "pipeline/transform.h"
#include "source/codec.h"

namespace sipi::convert {
namespace fs = std::filesystem;
using vips::VImage;

std::string format_text(const ConvertOptions& o) {
  if (!o.format.empty()) return o.format;
  auto ext = fs::path(o.output).extension().string();
  return ext.size() > 1 ? ext.substr(1) : "jpg";
}

Result<Plan> check(const ConvertOptions& o) {
  auto args = [](const std::string& m) { return phase_error("cli_args", m); };
  Plan plan;
  const std::string fmt = format_text(o);
  auto target = target_from(fmt);
  if (!target) return args("unknown output format '" + fmt + "'");
  plan.target = *target;
  if (o.role == Role::service && plan.target != Target::jp2 && plan.target != Target::tiff) {
    return args("a service file is JPEG 2000 (.jp2, .jpx) or TIFF (.tif)");
  }
  if (!o.region.empty() && (o.region.size() != 4 || o.region[2] <= 0 || o.region[3] <= 0 || o.region[0] < 0 || o.region[1] < 0)) {
    return args("--region needs x y w h with w, h > 0");
  }
  if (o.quality < 0 || o.quality > 100) return args("--quality must be 1..100");
  if (o.scale < 0 || o.reduce < 0 || o.reduce > 16) return args("--scale/--reduce out of range");
  if (o.mirror != "none" && o.mirror != "horizontal" && o.mirror != "vertical") {
    return args("--mirror must be none, horizontal or vertical");
  }
  if (!o.icc.empty()) {
    if (o.icc == "none") plan.icc = metadata::IccTarget::none;
    else if (o.icc == "sRGB" || o.icc == "srgb") plan.icc = metadata::IccTarget::srgb;
    else if (o.icc == "AdobeRGB" || o.icc == "adobergb") plan.icc = metadata::IccTarget::adobe_rgb;
    else if (o.icc == "GRAY" || o.icc == "gray") plan.icc = metadata::IccTarget::gray;
    else return args("--icc must be none, sRGB, AdobeRGB or GRAY");
  }
  if (!o.size.empty()) {
    auto s = iiif::parse_size(o.size);
    if (!s) return args("--size '" + o.size + "' is not a IIIF size");
    plan.size = *s;
  }
  if (o.scale > 0) plan.size = iiif::parse_size("^pct:" + std::to_string(o.scale)).value();
  return plan;
}

Result<Source> read(const ConvertOptions& o) {
  auto fail = [&](const std::string& why) { return phase_error("read", o.input + ": " + why); };
  struct stat st {};
  if (::stat(o.input.c_str(), &st) != 0) return fail("no such file");
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  Source src;
  src.bytes = static_cast<std::int64_t>(st.st_size);
  auto shape = source::probe(o.input, o.pagenum);
  if (!shape) {
    const Error& e = shape.error();
    return fail(e.detail == "source.unsupported_format" ? "not a TIFF, JPEG 2000, JPEG, PNG or WebP image"
                : e.detail == "source.page_not_found"   ? "no page " + std::to_string(o.pagenum)
                                                        : "unreadable or truncated image");
  }
  src.shape = std::move(*shape);
  if (!o.skipmeta) src.meta = metadata::read(o.input);  // warnings are shown once the output exists
  auto packet = metadata::read_essentials(o.input);
  if (!packet) return fail(packet.error().message);
  src.packet = std::move(*packet);
  if (o.role == Role::access && !src.packet) return fail("not a service file (no Essentials packet)");
  src.level = source::reduce_level(src.shape, o.reduce);
  auto loaded = source::load_level(o.input, src.shape, src.level, false);
  if (!loaded) return fail(loaded.error().message);
  src.loaded = *loaded;
  src.described = describe_image(src.loaded, src.meta.orientation());
  return src;
}

Result<Converted> transform(const ConvertOptions& o, const Plan& plan, Source& src) {
  Converted out;
  out.target = plan.target;
  out.orientation = src.meta.orientation();
  try {
    VImage img = src.loaded;
    // A service file may keep the master's profile in its packet (JPEG 2000 could not hold it).
    if (src.packet && src.packet->restore_icc && !src.packet->icc.empty() && img.get_typeof(VIPS_META_ICC_NAME) == 0) {
      img = img.copy();
      vips_image_set_blob_copy(img.get_image(), VIPS_META_ICC_NAME, src.packet->icc.data(), src.packet->icc.size());
    }
    if (src.level == 0 && o.reduce > 0) img = img.resize(1.0 / (1 << o.reduce));
    if (o.topleft) {
      // EXIF (JPEG) or TIFF orientation; libvips knows both as "orientation".
      if (img.get_typeof(VIPS_META_ORIENTATION) == 0 && out.orientation != 1) img.set(VIPS_META_ORIENTATION, out.orientation);
      img = img.autorot();
      out.orientation = 1;
      src.meta.set_orientation(1);
    }
    if (!o.region.empty()) {
      if (o.region[0] >= img.width() || o.region[1] >= img.height()) {
        return phase_error("cli_args", "--region starts outside the image");
      }
      img = pipeline::crop(img, {o.region[0], o.region[1], std::min(o.region[2], img.width() - o.region[0]),
                                 std::min(o.region[3], img.height() - o.region[1])});
    }
    if (plan.size) {
      auto d = iiif::resolve_size(*plan.size, {img.width(), img.height()}, iiif::Limits::none());
      if (!d) return phase_error("cli_args", "--size/--scale: " + d.error().detail);
      img = pipeline::scale(img, *d, ScalingQuality::high);
    }
    if (o.mirror == "vertical") img = img.flip(VIPS_DIRECTION_VERTICAL);
    iiif::Rotation rot{o.mirror == "horizontal", std::fmod(std::fmod(o.rotate, 360.0) + 360.0, 360.0)};
    const Target t = plan.target;
    img = pipeline::rotate(img, rot, t == Target::png || t == Target::webp || t == Target::tiff);
    if (plan.icc) img = apply_icc(img, *plan.icc, t != Target::jpeg && t != Target::webp);
    if (!o.watermark.empty()) {
      std::error_code ec;
      if (!fs::is_regular_file(o.watermark, ec)) return phase_error("read", o.watermark + ": no such watermark file");
      img = pipeline::watermark(img, VImage::new_from_file(o.watermark.c_str()));
    }
    img = fit_format(img, t);
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
    out.image = img;
  } catch (const vips::VError& e) {
    std::string m = e.what();
    vips_error_clear();
    return phase_error("convert", m);
  }
  src.meta.set_pixel_dimensions(out.image.width(), out.image.height());
  return out;
}

namespace {

// The Essentials packet of a service file: who the master was, and how to verify the pixels.
Result<metadata::Essentials> essentials(const ConvertOptions& o, const Source& src, const VImage& img,
                                        const fs::path& written, bool icc_in_packet) {
  metadata::Essentials e;
  e.original_name = !o.original_name.empty() ? o.original_name
                    : src.packet             ? src.packet->original_name
                                             : fs::path(o.input).filename().string();
  e.original_mime = !o.original_mime.empty() ? o.original_mime
                    : src.packet             ? src.packet->original_mime
                                             : source::mime_type(src.shape.format);
  e.digest_name = "sha256";
  try {
    e.pixel_digest = pixel_digest(img, e.digest_name);
  } catch (const vips::VError& ex) {
    vips_error_clear();
    return phase_error("convert", ex.what());
  }
  e.restore_icc = icc_in_packet;
  if (icc_in_packet) e.icc = icc_bytes(img);
  e.width = static_cast<unsigned>(img.width());
  e.height = static_cast<unsigned>(img.height());
  e.channels = static_cast<unsigned>(img.bands());
  e.bits = static_cast<unsigned>(bits_per_sample(img));
  if (auto shape = source::probe(written, 0)) {
    e.tile_width = static_cast<unsigned>(shape->tile.w);
    e.tile_height = static_cast<unsigned>(shape->tile.h);
    e.levels = static_cast<unsigned>(shape->levels.size());
  }
  return e;
}

}  // namespace

Result<Ok> write(const ConvertOptions& o, const Source& src, Converted& out) {
  OutputFile file(o.output);
  const Target t = out.target;
  if (auto saved = save(out.image, t, file.temp(), o, o.skipmeta); !saved) {
    // Pixels are decoded lazily, while the encoder pulls them: tell a broken input (truncated,
    // corrupt) from a failing output by decoding the input on its own.
    try {
      (void)src.loaded.avg();
    } catch (const vips::VError&) {
      vips_error_clear();
      // Reported as SIPI does, without the input's description (it did not decode).
      return Error{Status::not_found, "read.undecodable", o.input + ": unreadable or truncated image"};
    }
    return saved.error();
  }
  std::string jp2_icc = t == Target::jp2 && !o.skipmeta ? icc_bytes(out.image) : std::string{};
  bool icc_in_packet = false;
  if (o.role == Role::service && !metadata::jp2_can_hold_icc(jp2_icc)) {
    icc_in_packet = true;  // not a "restricted" profile: JPEG 2000's colour box may not hold it
    jp2_icc.clear();
  }
  const metadata::Bundle& meta = src.meta;
  if (!o.skipmeta && (meta.has_exif() || meta.has_iptc() || meta.has_xmp() || !jp2_icc.empty())) {
    auto w = metadata::write(file.temp(), container(t), meta, jp2_icc);
    if (!w) out.warnings.push_back("metadata not written: " + w.error().message);
  }
  if (t == Target::j2k) {
    out.image = out.image.copy();
    if (out.image.get_typeof(VIPS_META_ICC_NAME)) out.image.remove(VIPS_META_ICC_NAME);  // a codestream holds no profile
  }
  if (o.role == Role::service) {
    auto e = essentials(o, src, out.image, file.temp(), icc_in_packet);
    if (!e) return e.error();
    auto w = metadata::write_essentials(file.temp(), container(t), *e);
    if (!w) return phase_error("write", w.error().message);
  }
  if (!file.commit()) return phase_error("write", o.output + ": cannot create the file");
  for (const auto& w : meta.warnings()) out.warnings.push_back(w);
  return Ok{};
}

Result<Converted> run(const ConvertOptions& o) {
  auto plan = check(o);
  if (!plan) return plan.error();
  auto src = read(o);
  if (!src) return src.error();
  auto out = transform(o, *plan, *src);
  if (!out) return out.error();
  if (auto written = write(o, *src, *out); !written) return written.error();
  return out;
}

}  // namespace sipi::convert
