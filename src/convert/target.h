// The output side of the converter: the formats it writes, what each can hold (bit depth, colour
// space, alpha), and writing a file in one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vips/vips8>

#include "convert/options.h"
#include "core/result.h"
#include "metadata/icc.h"
#include "metadata/metadata.h"

namespace sipi::convert {

enum class Target { jpeg, tiff, png, webp, jp2, j2k };

// A format name as given to --format or found as an extension (any case); nothing if unknown.
std::optional<Target> target_from(const std::string& name);
// SIPI's name in reports: jpg, tif, png, webp, jpx (the JP2 file format), j2k.
const char* target_name(Target t);
// Where exiv2 writes metadata for the format.
metadata::Container container(Target t);

// Converts to one of the ICC targets (none drops the profile); keeps 16 bits when asked.
vips::VImage apply_icc(const vips::VImage& in, metadata::IccTarget t, bool keep16);
// Brings pixels into what the target format can store, keeping the colour space (and so the
// embedded profile) whenever the format allows it.
vips::VImage fit_format(const vips::VImage& in, Target t);
// Writes `img` to `path` in format `t` with the options' quality, tiling and JPEG 2000 settings.
// Errors: detail "write" (the encoder failed), "cli_args" (JPEG 2000 settings it refused).
Result<Ok> save(const vips::VImage& img, Target t, const std::filesystem::path& path, const ConvertOptions& o,
                bool strip);

// An error of one of the converter's phases (SIPI's: cli_args, read, convert, write): the phase
// is the detail.
Error phase_error(const std::string& phase, const std::string& message);

}  // namespace sipi::convert
