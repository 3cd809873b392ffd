#include "convert/checksum.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <vector>

namespace sipi::convert {

std::string pixel_digest(const vips::VImage& img, const std::string& name) {
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (!md) return {};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  const bool sixteen = img.format() == VIPS_FORMAT_USHORT;
  const int W = img.width(), H = img.height();
  std::vector<unsigned char> swapped;
  for (int y = 0; y < H; y += 256) {
    int h = std::min(256, H - y);
    vips::VImage strip = img.extract_area(0, y, W, h).copy_memory();
    const auto* px = static_cast<const unsigned char*>(strip.data());
    std::size_t n = static_cast<std::size_t>(W) * h * img.bands() * (sixteen ? 2 : 1);
    if (sixteen) {
      swapped.resize(n);
      for (std::size_t i = 0; i + 1 < n; i += 2) {
        std::uint16_t v;
        std::memcpy(&v, px + i, 2);
        swapped[i] = static_cast<unsigned char>(v >> 8);
        swapped[i + 1] = static_cast<unsigned char>(v & 0xff);
      }
      px = swapped.data();
    }
    EVP_DigestUpdate(ctx.get(), px, n);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string to_hex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace sipi::convert
