// Turns a IIIF prefix and identifier into a file inside the image root. The only place that
// builds filesystem paths from request text.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace sipi::source {

struct ImageRoot {
  std::filesystem::path root;  // canonical (realpath) image root
  bool prefix_as_path = true;
};

// Errors: 400 path.traversal (a component is empty, "." or ".."), 400 path.outside_root (the
// real path, after symlinks, leaves the root), 404 source.not_found (missing, or not a
// regular readable file). Messages never reach the client.
Result<std::filesystem::path> resolve(const ImageRoot& root, const std::string& prefix,
                                      const std::string& identifier);

// Where `prefix`/`identifier` would be inside the root, checked for traversal but not for
// existence: what file_pre_flight is given (DSP's hook maps it to prefix/xx/yy/name).
Result<std::filesystem::path> candidate(const ImageRoot& root, const std::string& prefix, const std::string& identifier);

// A path chosen by a pre_flight hook (absolute, or relative to the working directory): the
// same checks, so a script cannot hand out files outside the image root either.
Result<std::filesystem::path> resolve_hook_path(const ImageRoot& root, const std::string& path);

}  // namespace sipi::source
