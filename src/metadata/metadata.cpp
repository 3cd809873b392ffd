#include "metadata/metadata.h"

#include <exiv2/exiv2.hpp>
#include <fstream>
#include <mutex>

#include "metadata/jp2_boxes.h"

#include "core/log.h"

namespace sipi::metadata {

struct Bundle::Impl {
  Exiv2::ExifData exif;
  Exiv2::IptcData iptc;
  Exiv2::XmpData xmp;
  std::vector<std::string> warnings;
};

Bundle::Bundle() : impl(std::make_unique<Impl>()) {}
Bundle::~Bundle() = default;
Bundle::Bundle(Bundle&&) noexcept = default;
Bundle& Bundle::operator=(Bundle&&) noexcept = default;

bool Bundle::has_exif() const { return !impl->exif.empty(); }
bool Bundle::has_iptc() const { return !impl->iptc.empty(); }
bool Bundle::has_xmp() const { return !impl->xmp.empty(); }
const std::vector<std::string>& Bundle::warnings() const { return impl->warnings; }

void Bundle::clear() {
  impl->exif.clear();
  impl->iptc.clear();
  impl->xmp.clear();
}

int Bundle::orientation() const {
  auto it = impl->exif.findKey(Exiv2::ExifKey("Exif.Image.Orientation"));
  if (it == impl->exif.end() || it->count() == 0) return 1;
  long v = it->toLong();
  return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
}

std::optional<std::string> Bundle::exif_value(const std::string& tag) const {
  if (tag.rfind("Exif.", 0) == 0) {  // a whole key
    try {
      auto it = impl->exif.findKey(Exiv2::ExifKey(tag));
      if (it != impl->exif.end()) return it->toString();
    } catch (const Exiv2::AnyError&) {
    }
    return std::nullopt;
  }
  for (const char* group : {"Exif.Image.", "Exif.Photo.", "Exif.GPSInfo."}) {
    try {
      auto it = impl->exif.findKey(Exiv2::ExifKey(group + tag));
      if (it != impl->exif.end()) return it->toString();
    } catch (const Exiv2::AnyError&) {
      // not a tag of this group
    }
  }
  return std::nullopt;
}

void Bundle::set_orientation(int value) {
  if (has_exif() || value != 1) impl->exif["Exif.Image.Orientation"] = static_cast<uint16_t>(value);
  auto x = impl->xmp.findKey(Exiv2::XmpKey("Xmp.tiff.Orientation"));
  if (x != impl->xmp.end()) impl->xmp["Xmp.tiff.Orientation"] = std::to_string(value);
}

void Bundle::set_pixel_dimensions(long w, long h) {
  auto& e = impl->exif;
  if (e.findKey(Exiv2::ExifKey("Exif.Photo.PixelXDimension")) != e.end()) {
    e["Exif.Photo.PixelXDimension"] = static_cast<uint32_t>(w);
    e["Exif.Photo.PixelYDimension"] = static_cast<uint32_t>(h);
  }
}

Capabilities capabilities(Container c) {
  switch (c) {
    case Container::jpeg: return {true, true, true, true};
    case Container::tiff: return {true, true, true, true};
    case Container::png: return {true, true, true, true};
    case Container::webp: return {true, false, true, true};  // WebP has no IPTC chunk
    case Container::jp2: return {true, true, true, true};
    case Container::j2k: return {false, false, false, false};  // a bare codestream has no boxes
  }
  return {false, false, false, false};
}

namespace {

std::mutex g_log_mutex;
std::vector<std::string>* g_sink = nullptr;  // exiv2's handler is global; the CLI is one thread

void handler(int level, const char* msg) {
  if (level < Exiv2::LogMsg::warn) return;
  std::string m = msg ? msg : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  // exiv2 reads a TIFF's first directory only and calls the link to the next one "unexpected":
  // that link is what every multi-page or pyramidal TIFF has, not damage worth a warning.
  if (m.find("has an unexpected next pointer") != std::string::npos) return;
  if (g_sink) g_sink->push_back(m);
}

// exiv2 rewrites image structure tags of TIFF itself; copying them across would corrupt it.
bool is_structural_tiff_tag(const Exiv2::Exifdatum& d) {
  if (d.groupName() != "Image") return false;
  static const char* kSkip[] = {"ImageWidth", "ImageLength", "BitsPerSample", "Compression",
                                "PhotometricInterpretation", "StripOffsets", "SamplesPerPixel",
                                "RowsPerStrip", "StripByteCounts", "PlanarConfiguration", "TileWidth",
                                "TileLength", "TileOffsets", "TileByteCounts", "SubIFDs", "ExtraSamples",
                                "SampleFormat", "JPEGTables", "YCbCrSubSampling", "YCbCrPositioning",
                                "XResolution", "YResolution", "ResolutionUnit", "NewSubfileType",
                                "InterColorProfile", "XMLPacket", "IPTCNAA", "ImageResources", "Predictor"};
  for (const char* k : kSkip) {
    if (d.tagName() == k) return true;
  }
  // The Essentials packet (and SIPI's legacy one) belongs to one service file; never copy it.
  return d.tag() == 0xfe58 || d.tag() == 0xfe57;
}

}  // namespace

void init() {
  Exiv2::XmpParser::initialize();
  Exiv2::LogMsg::setHandler(handler);
}

Bundle read(const std::filesystem::path& path) {
  Bundle b;
  std::lock_guard lock(g_log_mutex);
  g_sink = &b.impl->warnings;
  try {
    auto img = Exiv2::ImageFactory::open(path.string());
    img->readMetadata();
    for (const auto& d : img->exifData()) {
      // Thumbnails and image-structure tags describe the source file, not the image.
      if (d.groupName().rfind("Thumbnail", 0) == 0) continue;
      if (is_structural_tiff_tag(d)) continue;
      b.impl->exif.add(d);
    }
    b.impl->iptc = img->iptcData();
    b.impl->xmp = img->xmpData();
  } catch (const Exiv2::AnyError& e) {
    b.impl->warnings.push_back(std::string("metadata skipped: ") + e.what());
    b.clear();
  } catch (const std::exception& e) {
    b.impl->warnings.push_back(std::string("metadata skipped: ") + e.what());
    b.clear();
  }
  g_sink = nullptr;
  return b;
}

Result<Ok> write(const std::filesystem::path& path, Container c, const Bundle& b, const std::string& icc) {
  Capabilities cap = capabilities(c);
  if (!cap.exif && !cap.iptc && !cap.xmp) return Ok{};
  std::lock_guard lock(g_log_mutex);
  std::vector<std::string> warnings;
  g_sink = &warnings;
  try {
    auto img = Exiv2::ImageFactory::open(path.string());
    img->readMetadata();  // keep what the encoder wrote (ICC, resolution) and replace the rest
    if (cap.exif) {
      Exiv2::ExifData merged = img->exifData();
      for (const auto& d : b.impl->exif) merged[d.key()] = d.value();
      img->setExifData(merged);
    }
    if (cap.iptc) img->setIptcData(b.impl->iptc);
    if (cap.xmp) img->setXmpData(b.impl->xmp);
    if (!icc.empty() && c == Container::jp2) {
      Exiv2::DataBuf buf(reinterpret_cast<const Exiv2::byte*>(icc.data()), static_cast<long>(icc.size()));
      img->setIccProfile(buf, true);
    }
    img->writeMetadata();
  } catch (const Exiv2::AnyError& e) {
    g_sink = nullptr;
    return Error::internal("metadata.write", e.what());
  }
  g_sink = nullptr;
  for (const auto& w : warnings) log::warning("metadata", {{"warning", w}});
  return Ok{};
}

Jp2Colour read_jp2_colour(const std::filesystem::path& path) {
  auto spec = jp2::colour_spec(jp2::read_header(path));
  return {std::move(spec.icc), spec.enumcs == 12};
}

bool mark_jp2_cmyk(const std::filesystem::path& path) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  std::string head(64 * 1024, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(f.gcount()));
  std::size_t off = jp2::enumerated_colour_space_offset(head);
  if (!off) return false;
  f.clear();
  f.seekp(static_cast<std::streamoff>(off));
  const char cmyk[4] = {0, 0, 0, 12};
  f.write(cmyk, 4);
  return static_cast<bool>(f);
}

std::vector<std::pair<std::string, std::string>> summary(const Bundle& b) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : b.impl->exif) {
    if (d.size() > 256) continue;
    out.emplace_back(d.key(), d.toString());
  }
  for (const auto& d : b.impl->iptc) out.emplace_back(d.key(), d.toString());
  for (const auto& d : b.impl->xmp) {
    if (d.size() > 256) continue;
    out.emplace_back(d.key(), d.toString());
  }
  return out;
}

}  // namespace sipi::metadata
