// EXIF, IPTC and XMP of a file, read and written with exiv2. libvips carries some of these
// between some formats by itself; exiv2 covers the rest (EXIF and IPTC in TIFF, IPTC in PNG,
// everything in JPEG 2000) so that the converter can keep what the target format can hold.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace sipi::metadata {

enum class Container { jpeg, tiff, png, webp, jp2, j2k };

// What a container can hold, as written by sipi (the docs' format × metadata table).
struct Capabilities {
  bool exif, iptc, xmp, icc;
};
Capabilities capabilities(Container c);

class Bundle {
 public:
  Bundle();
  ~Bundle();
  Bundle(Bundle&&) noexcept;
  Bundle& operator=(Bundle&&) noexcept;

  bool has_exif() const;
  bool has_iptc() const;
  bool has_xmp() const;
  int orientation() const;            // EXIF orientation 1..8, 1 when absent
  // A tag by its name ("Orientation", looked up in Image, Photo and GPSInfo) or its whole key
  // ("Exif.GPSInfo.GPSLatitude"); exiv2's text of the value.
  std::optional<std::string> exif_value(const std::string& tag) const;
  void set_orientation(int value);    // writes Exif.Image.Orientation (and tiff:Orientation in XMP)
  void set_pixel_dimensions(long w, long h);  // keeps Exif.Photo.PixelX/YDimension true, if present
  void clear();
  // Problems met while reading (malformed blocks are skipped, never fatal).
  const std::vector<std::string>& warnings() const;

  struct Impl;
  std::unique_ptr<Impl> impl;
};

// Reads EXIF, IPTC and XMP. A file exiv2 cannot parse gives an empty bundle with a warning.
Bundle read(const std::filesystem::path& path);

// Writes the bundle's blocks that `c` can hold into an existing file, replacing what is there.
// `icc`, when not empty, is written too (JPEG 2000 only: other encoders embed it themselves,
// and OpenJPEG 2.5.0 drops it, see ADR 0003). Errors: 500 metadata.write (the file is left as
// the encoder wrote it).
Result<Ok> write(const std::filesystem::path& path, Container c, const Bundle& b, const std::string& icc = {});

// Text fields for `sipi query`: key → value, for a few dozen well-known tags.
std::vector<std::pair<std::string, std::string>> summary(const Bundle& b);

// What a JP2 file's colour box says, read from its header alone (no exiv2, no lock: this is on
// every JPEG 2000 request). libvips 8.14 and OpenJPEG 2.5.0 do not hand out the ICC profile,
// and libvips reads EnumCS 12 (CMYK) as RGBA.
struct Jp2Colour {
  std::string icc;
  bool cmyk = false;
};
Jp2Colour read_jp2_colour(const std::filesystem::path& path);
// Marks a JP2 written by OpenJPEG as CMYK (EnumCS 12), which OpenJPEG 2.5 cannot write itself.
bool mark_jp2_cmyk(const std::filesystem::path& path);

// Silences exiv2's own stderr output; its warnings reach us through Bundle::warnings().
void init();

}  // namespace sipi::metadata
