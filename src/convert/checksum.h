// Digest of decoded pixels for service files: samples interleaved, row by row, 16-bit samples
// big-endian (SIPI's convention), computed strip by strip so memory stays bounded.
#pragma once

#include <string>
#include <vips/vips8>

namespace sipi::convert {

// Raw digest bytes; `name` is md5, sha1, sha256, sha384 or sha512 ("" if unknown).
std::string pixel_digest(const vips::VImage& img, const std::string& name);

std::string to_hex(const std::string& bytes);

}  // namespace sipi::convert
