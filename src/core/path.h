// Path containment, the last check before any file named by a request is opened.
#pragma once

#include <filesystem>

namespace sipi {

// True when `p` lies strictly below `root`; both must already be canonical (realpath), so
// ".." and symlinks have been resolved.
inline bool is_below(const std::filesystem::path& root, const std::filesystem::path& p) {
  const auto& r = root.native();
  const auto& s = p.native();
  return s.size() > r.size() && s.compare(0, r.size(), r) == 0 && (r.back() == '/' || s[r.size()] == '/');
}

}  // namespace sipi
