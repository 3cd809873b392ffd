// `sipi convert IN OUT` on the command line: runs the converter (src/convert/) and reports as
// SIPI does (one line on stderr, or one JSON document on stdout with --json).
#pragma once

#include "convert/options.h"

namespace sipi::cli {

using convert::ConvertOptions;
using convert::Role;

// Runs the conversion; returns the process exit status (0 ok, 1 failure). Prints one line to
// stderr on failure, or with --json exactly one JSON document on stdout either way.
int run_convert(const ConvertOptions& o);

}  // namespace sipi::cli
