#include "metadata/essentials.h"

#include <exiv2/exiv2.hpp>
#include <lcms2.h>

#include <fstream>

#include "essentials.pb.h"
#include "metadata/jp2_boxes.h"

namespace sipi::metadata {
namespace {

// The UUID of SIPI's Essentials box, and the TIFF tags of the packet and its legacy form.
constexpr jp2::Uuid kEssentialsUuid = {0x7B, 0x28, 0xA6, 0x46, 0xB9, 0xC3, 0x4F, 0xB2,
                                       0x90, 0x0B, 0xB6, 0x85, 0x5D, 0xF2, 0x38, 0x82};
constexpr const char* kTiffTag = "Exif.Image.0xfe58";        // 65112, UNDEFINED
constexpr const char* kTiffLegacyTag = "Exif.Image.0xfe57";  // 65111, ASCII

const char* kDigestNames[] = {"", "md5", "sha1", "sha256", "sha384", "sha512"};

int digest_index(const std::string& name) {
  for (int i = 1; i <= 5; ++i) {
    if (name == kDigestNames[i]) return i;
  }
  return 0;
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) continue;  // '=' padding, line breaks
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string hex_decode(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

std::string encode_packet(const Essentials& e) {
  sipi::essentials::Packet p;
  p.set_version(1);
  p.set_original_name(e.original_name);
  p.set_original_mime(e.original_mime);
  p.set_digest(static_cast<sipi::essentials::Digest>(digest_index(e.digest_name)));
  p.set_pixel_digest(e.pixel_digest);
  p.set_restore_icc(e.restore_icc);
  if (e.restore_icc) p.set_icc(e.icc);
  p.set_width(e.width);
  p.set_height(e.height);
  p.set_tile_width(e.tile_width);
  p.set_tile_height(e.tile_height);
  p.set_levels(e.levels);
  p.set_pages(e.pages);
  p.set_channels(e.channels);
  p.set_bits(e.bits);
  return p.SerializeAsString();
}

std::optional<Essentials> decode_packet(const std::string& bytes) {
  sipi::essentials::Packet p;
  if (!p.ParseFromString(bytes) || p.version() < 1) return std::nullopt;
  Essentials e;
  e.original_name = p.original_name();
  e.original_mime = p.original_mime();
  int d = static_cast<int>(p.digest());
  e.digest_name = d >= 1 && d <= 5 ? kDigestNames[d] : "";
  e.pixel_digest = p.pixel_digest();
  e.restore_icc = p.restore_icc();
  e.icc = p.icc();
  e.width = p.width();
  e.height = p.height();
  e.tile_width = p.tile_width();
  e.tile_height = p.tile_height();
  e.levels = p.levels();
  e.pages = p.pages();
  e.channels = p.channels();
  e.bits = p.bits();
  return e;
}

std::optional<Essentials> decode_legacy(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto bar = text.find('|', start);
    parts.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  if (parts.size() < 4) return std::nullopt;
  Essentials e;
  e.legacy = true;
  e.original_name = parts[0];
  e.original_mime = parts[1];
  std::string h;
  for (char c : parts[2]) h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  e.digest_name = h;
  try {
    e.pixel_digest = hex_decode(parts[3]);
  } catch (...) {
    return std::nullopt;
  }
  if (parts.size() >= 6 && parts[4] == "USE_ICC") {
    e.restore_icc = true;
    e.icc = base64_decode(parts[5]);
  }
  return e;
}

Result<std::optional<Essentials>> read_essentials(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  bool tiff = (magic[0] == 'I' && magic[1] == 'I') || (magic[0] == 'M' && magic[1] == 'M');
  if (!tiff) {
    // JP2 / J2K: the packet sits near the start; 4 MiB covers the header of any file.
    std::string head(4 * 1024 * 1024, '\0');
    in.seekg(0);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    if (auto box = jp2::find_uuid_box(head, kEssentialsUuid)) {
      auto e = decode_packet(*box);
      if (!e) return Error::internal("metadata.essentials", "undecodable Essentials box");
      return std::optional<Essentials>(std::move(*e));
    }
    for (const auto& c : jp2::codestream_comments(head)) {
      if (c.rfind("SIPI:", 0) == 0) return decode_legacy(c.substr(5));
    }
    return std::optional<Essentials>();
  }
  // exiv2 0.27 cannot open BigTIFF ("unknown image type"); sipi writes its packet only into
  // classic TIFF, so a BigTIFF has none.
  if ((magic[0] == 'I' && magic[2] == 43) || (magic[0] == 'M' && magic[3] == 43)) return std::optional<Essentials>();
  try {
    auto img = Exiv2::ImageFactory::open(path.string());
    img->readMetadata();
    auto& exif = img->exifData();
    auto it = exif.findKey(Exiv2::ExifKey(kTiffTag));
    if (it != exif.end()) {
      std::string bytes(static_cast<std::size_t>(it->size()), '\0');
      it->copy(reinterpret_cast<Exiv2::byte*>(bytes.data()), Exiv2::invalidByteOrder);
      auto e = decode_packet(bytes);
      if (!e) return Error::internal("metadata.essentials", "undecodable Essentials tag");
      return std::optional<Essentials>(std::move(*e));
    }
    it = exif.findKey(Exiv2::ExifKey(kTiffLegacyTag));
    if (it != exif.end()) return decode_legacy(it->toString());
  } catch (const Exiv2::AnyError& e) {
    return Error::internal("metadata.essentials", e.what());
  }
  return std::optional<Essentials>();
}

Result<Ok> write_essentials(const std::filesystem::path& path, Container c, const Essentials& e) {
  std::string packet = encode_packet(e);
  if (c == Container::jp2) {
    auto file = jp2::read_file(path);
    if (!file) return Error::internal("metadata.essentials", "cannot read " + path.string());
    std::string with = jp2::insert_uuid_box_after_header(*file, kEssentialsUuid, packet);
    if (with.empty() || !jp2::write_file(path, with)) return Error::internal("metadata.essentials", "cannot write the box");
    return Ok{};
  }
  if (c == Container::tiff) {
    try {
      auto img = Exiv2::ImageFactory::open(path.string());
      img->readMetadata();
      Exiv2::DataValue v(reinterpret_cast<const Exiv2::byte*>(packet.data()), static_cast<long>(packet.size()),
                         Exiv2::invalidByteOrder, Exiv2::undefined);
      img->exifData().add(Exiv2::ExifKey(kTiffTag), &v);
      img->writeMetadata();
    } catch (const Exiv2::AnyError& ex) {
      return Error::internal("metadata.essentials", ex.what());
    }
    return Ok{};
  }
  return Error::internal("metadata.essentials", "service files are JPEG 2000 or TIFF");
}

bool jp2_can_hold_icc(const std::string& icc) {
  if (icc.empty()) return true;
  cmsHPROFILE p = cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size()));
  if (!p) return false;
  auto space = cmsGetColorSpace(p);
  bool ok = (space == cmsSigRgbData || space == cmsSigGrayData) && cmsIsMatrixShaper(p);
  cmsCloseProfile(p);
  return ok;
}

}  // namespace sipi::metadata
