// The Essentials packet carried by service files (SIPI's preservation identity): original
// name and MIME type, a digest of the pixels, the image shape, and an ICC profile to restore
// when the image format could not hold it. Written into a JP2 UUID box placed right after the
// jp2h box, or into private TIFF tag 65112. SIPI's older pipe-delimited packets (TIFF ASCII
// tag 65111, or a J2K COM marker starting "SIPI:") are read too.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/result.h"
#include "metadata/metadata.h"

namespace sipi::metadata {

struct Essentials {
  std::string original_name;
  std::string original_mime;
  std::string digest_name = "sha256";  // md5 sha1 sha256 sha384 sha512
  std::string pixel_digest;            // raw digest bytes
  bool restore_icc = false;
  std::string icc;
  unsigned width = 0, height = 0, tile_width = 0, tile_height = 0, levels = 0, pages = 1, channels = 0, bits = 0;
  bool legacy = false;  // read from SIPI's pipe-delimited form
};

std::string encode_packet(const Essentials& e);
std::optional<Essentials> decode_packet(const std::string& bytes);
// "origname|mimetype|hashtype|hexchecksum|USE_ICC|base64icc" (SIPI ≤ 6).
std::optional<Essentials> decode_legacy(const std::string& text);

// The packet in a JP2/J2K or TIFF file, if any. Errors: 500 metadata.essentials (a packet is
// there but cannot be decoded).
Result<std::optional<Essentials>> read_essentials(const std::filesystem::path& path);

// Adds the packet to a file sipi has just written (JP2 or TIFF). Errors: 500 metadata.essentials.
Result<Ok> write_essentials(const std::filesystem::path& path, Container c, const Essentials& e);

// True when JPEG 2000's colour box may hold the profile (JP2 part 1 allows only "restricted"
// ICC profiles: grey TRC or RGB matrix/TRC). Others travel in the packet.
bool jp2_can_hold_icc(const std::string& icc);

}  // namespace sipi::metadata
