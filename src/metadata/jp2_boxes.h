// Just enough of the JP2 file format (ISO/IEC 15444-1 annex I) to find and insert boxes that
// exiv2 and OpenJPEG do not handle: the Essentials UUID box, and the codestream's COM markers.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sipi::metadata::jp2 {

using Uuid = std::array<unsigned char, 16>;

// Payload (after the 16-byte UUID) of the first top-level uuid box with this UUID.
std::optional<std::string> find_uuid_box(const std::string& file, const Uuid& id);

// The file with a uuid box inserted right after the jp2h box (or after the signature and ftyp
// boxes when there is no jp2h). Returns "" if the file is not a JP2 box structure.
std::string insert_uuid_box_after_header(const std::string& file, const Uuid& id, const std::string& payload);

// The first jp2h/colr box: EnumCS when enumerated (method 1), the ICC profile when restricted
// ICC (method 2). Both empty when there is no such box in `file`.
struct ColourSpec {
  unsigned enumcs = 0;
  std::string icc;
};
ColourSpec colour_spec(const std::string& file);

// Bytes of the file up to the end of its jp2h box (where the colour box lives), at most 16 MiB.
std::string read_header(const std::filesystem::path& p);

// Offset in the file of the 4-byte EnumCS field of an enumerated jp2h/colr box, or 0.
std::size_t enumerated_colour_space_offset(const std::string& file);

// The text of COM markers in the codestream's main header (raw .j2k or inside jp2c).
std::vector<std::string> codestream_comments(const std::string& file);

std::optional<std::string> read_file(const std::filesystem::path& p);
bool write_file(const std::filesystem::path& p, const std::string& data);

}  // namespace sipi::metadata::jp2
