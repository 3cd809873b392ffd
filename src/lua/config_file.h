// Reads SIPI's Lua configuration file: the globals `sipi` and `fileserver` (and, later,
// `routes`). Types are checked strictly: a wrong type is an error naming the key, never a 0.
#pragma once

#include <string>

#include "core/config.h"
#include "core/result.h"

namespace sipi::lua {

// Applies the file's settings onto `cfg`. Errors (message names the file, line or key):
// syntax or runtime error in the file, `sipi` missing or not a table, a value of the wrong type.
// Unknown keys are logged as warnings; SIPI's retired keys are accepted silently.
Result<Ok> load_config_file(const std::string& path, Config& cfg);

}  // namespace sipi::lua
