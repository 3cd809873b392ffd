// The offline commands besides convert. Each returns the process exit status.
#pragma once

#include <string>

namespace sipi::cli {

// Human-readable (or --json) description: format, size, pages, levels, tiles, bands, bit depth,
// colour space, ICC profile, orientation, and the EXIF/IPTC/XMP fields. 0 ok, 1 unreadable.
int run_query(const std::string& path, bool json);

// Decodes both images completely and compares every sample, as SIPI: 0 identical; 255 different
// (mean and max difference on stderr, the absolute difference in ./diff.tif; different sizes or
// band counts differ without one); 1 unreadable.
int run_compare(const std::string& a, const std::string& b);

// Decodes the whole image (every level a server would use). 0 decodable, 1 not.
int run_verify(const std::string& path);

// A service file: the Essentials packet is there, its shape matches the image and the pixel
// digest matches the decoded pixels. An access file: it decodes and carries no packet.
int run_verify_service_file(const std::string& path);
int run_verify_access_file(const std::string& path);

// GET /health of a running server; 0 when healthy.
int run_health(const std::string& host, int port, int timeout_seconds);

}  // namespace sipi::cli
