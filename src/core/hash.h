// FNV-1a, 64 bits: a fast non-cryptographic checksum (cache entry bodies, ETag values). Not for
// anything an attacker could benefit from colliding; file names use SHA-256.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipi {

constexpr std::uint64_t kFnvStart = 1469598103934665603ULL;

// Continues `h` over `s`: fnv1a(a + b) == fnv1a(b, fnv1a(a)), for bodies read in pieces.
inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = kFnvStart) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace sipi
