#include <iostream>
#include <optional>

#include "convert/checksum.h"
#include "cli/commands.h"
#include "metadata/essentials.h"
#include "source/codec.h"

namespace sipi::cli {

using namespace sipi::convert;  // describe_image, pixel_digest, …
namespace {

std::optional<vips::VImage> open_full(const std::string& path) {
  auto shape = source::probe(path, 0);
  if (!shape) return std::nullopt;
  auto img = source::load_level(path, *shape, 0, true);
  if (!img) return std::nullopt;
  try {
    return img->copy_memory();  // decode completely: a truncated file fails here
  } catch (const vips::VError&) {
    vips_error_clear();
    return std::nullopt;
  }
}

}  // namespace

// As SIPI: "Files identical!" (exit 0), or the differences summarised on stderr with the
// absolute difference image written to diff.tif in the working directory (exit 255). An image
// that cannot be read is exit 1.
int run_compare(const std::string& a, const std::string& b) {
  auto ia = open_full(a);
  if (!ia) {
    std::cerr << "Error reading image: " << a << std::endl;
    return 1;
  }
  auto ib = open_full(b);
  if (!ib) {
    std::cerr << "Error reading image: " << b << std::endl;
    return 1;
  }
  if (ia->width() != ib->width() || ia->height() != ib->height() || ia->bands() != ib->bands() ||
      ia->format() != ib->format()) {
    std::cerr << "Files differ in shape: " << ia->width() << "x" << ia->height() << "x" << ia->bands() << " vs "
              << ib->width() << "x" << ib->height() << "x" << ib->bands() << std::endl;
    return 255;
  }
  vips::VImage diff = (ia->cast(VIPS_FORMAT_INT) - ib->cast(VIPS_FORMAT_INT)).abs();
  int x = 0, y = 0;
  const double max = diff.max(vips::VImage::option()->set("x", &x)->set("y", &y));
  if (max == 0) {
    std::cerr << "Files identical!" << std::endl;
    return 0;
  }
  const double mean = diff.avg();
  std::string note = "See diff.tif";
  try {
    diff.cast(ia->format()).tiffsave("diff.tif");
  } catch (const vips::VError&) {
    vips_error_clear();
    note = "diff.tif could not be written";
  }
  std::cerr << "Files differ: avg: " << mean << " max: " << max << "(" << x << ", " << y << ") " << note << std::endl;
  return 255;
}

int run_verify(const std::string& path) {
  auto shape = source::probe(path, 0);
  if (!shape) {
    std::cerr << "Error reading image: " << path << ": not a readable image" << std::endl;
    return 1;
  }
  for (std::size_t l = 0; l < shape->levels.size(); ++l) {
    auto img = source::load_level(path, *shape, l, true);
    try {
      if (!img) throw vips::VError(img.error().message);
      (void)img->avg();  // forces a complete decode of the level
    } catch (const vips::VError& e) {
      vips_error_clear();
      std::cerr << "Error reading image: " << path << ": level " << l << " does not decode" << std::endl;
      return 1;
    }
    if (source::codec_for(shape->format).capabilities().scaled_levels) break;  // one stored image
  }
  std::cout << path << ": ok" << std::endl;
  return 0;
}

}  // namespace sipi::cli

namespace sipi::cli {

using namespace sipi::convert;

int run_verify_service_file(const std::string& path) {
  auto packet = metadata::read_essentials(path);
  if (!packet || !*packet) {
    std::cerr << "Error verifying image: " << path << ": no Essentials packet" << std::endl;
    return 1;
  }
  const auto& e = **packet;
  auto img = open_full(path);
  if (!img) {
    std::cerr << "Error verifying image: " << path << ": does not decode" << std::endl;
    return 1;
  }
  if (!e.legacy && (e.width != static_cast<unsigned>(img->width()) || e.height != static_cast<unsigned>(img->height()) ||
                    e.channels != static_cast<unsigned>(img->bands()))) {
    std::cerr << "Error verifying image: " << path << ": packet shape " << e.width << "x" << e.height << "x"
              << e.channels << " does not match the image" << std::endl;
    return 1;
  }
  std::string digest = pixel_digest(*img, e.digest_name);
  if (digest.empty() || digest != e.pixel_digest) {
    std::cerr << "Error verifying image: " << path << ": pixel " << e.digest_name << " " << to_hex(digest)
              << " does not match the packet's " << to_hex(e.pixel_digest) << std::endl;
    return 1;
  }
  std::cout << path << ": service file ok (" << e.original_name << ", " << e.original_mime << ", "
            << e.digest_name << " " << to_hex(e.pixel_digest) << ")" << std::endl;
  return 0;
}

int run_verify_access_file(const std::string& path) {
  auto packet = metadata::read_essentials(path);
  if (packet && *packet) {
    std::cerr << "Error verifying image: " << path << ": an access file must not carry an Essentials packet" << std::endl;
    return 1;
  }
  return run_verify(path);
}

}  // namespace sipi::cli
