// The converter as a library: `sipi convert`, service and access files, and Lua's img:write run
// it. Four stages, each returning a Result whose error detail is SIPI's phase name (cli_args,
// read, convert, write; "read.undecodable" when the input fails to decode while writing):
//   check  — the options alone (formats, ranges, names);
//   read   — probe the input, read its metadata and Essentials packet, load the level;
//   transform — top-left, region, size, mirror/rotate, ICC, watermark, fit to the format;
//   write  — encode to a temporary file, metadata, packet, rename into place.
// The output may be the input itself (DSP's top-left fix converts a file onto itself): the
// result goes to a temporary file that replaces the output only once it is complete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <vips/vips8>

#include "convert/options.h"
#include "convert/target.h"
#include "core/result.h"
#include "iiif/size.h"
#include "metadata/essentials.h"
#include "metadata/metadata.h"
#include "source/shape.h"

namespace sipi::convert {

struct Plan {
  Target target = Target::jpeg;
  std::optional<metadata::IccTarget> icc;  // set when --icc asks for a conversion
  std::optional<iiif::SizeSpec> size;
};

struct Source {
  std::int64_t bytes = 0;  // the input's size, before an in-place write replaces it
  source::ImageShape shape;
  metadata::Bundle meta;
  std::optional<metadata::Essentials> packet;
  std::size_t level = 0;
  vips::VImage loaded;
  nlohmann::ordered_json described;  // the input as `--json` reports describe it
};

struct Converted {
  Target target = Target::jpeg;
  vips::VImage image;  // as written
  int orientation = 1;
  std::vector<std::string> warnings;  // metadata that could not be carried over
};

Result<Plan> check(const ConvertOptions& o);
Result<Source> read(const ConvertOptions& o);
Result<Converted> transform(const ConvertOptions& o, const Plan& plan, Source& src);
Result<Ok> write(const ConvertOptions& o, const Source& src, Converted& out);

// The four stages in order (Lua's img:write of a service file).
Result<Converted> run(const ConvertOptions& o);

// The format the options ask for: --format, else the output's extension, else JPEG (as SIPI).
std::string format_text(const ConvertOptions& o);

}  // namespace sipi::convert
