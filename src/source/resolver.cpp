#include "source/resolver.h"

#include <unistd.h>

#include "core/path.h"

namespace sipi::source {
namespace fs = std::filesystem;
namespace {

bool safe_relative(const std::string& rel) {
  if (rel.empty() || rel.find('\0') != std::string::npos) return false;
  std::size_t start = 0;
  while (true) {
    auto pos = rel.find('/', start);
    std::string_view part(rel.data() + start, (pos == std::string::npos ? rel.size() : pos) - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (pos == std::string::npos) return true;
    start = pos + 1;
  }
}


}  // namespace

Result<fs::path> resolve_hook_path(const ImageRoot& root, const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos) return Error::bad_request("path.invalid");
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return Error::not_found("source.not_found", path + ": " + ec.message());
  if (!is_below(root.root, real)) return Error::bad_request("path.outside_root", real.string() + " is outside the root");
  if (!fs::is_regular_file(real, ec) || ::access(real.c_str(), R_OK) != 0) {
    return Error::not_found("source.not_found", real.string() + " is not a readable file");
  }
  return real;
}

Result<fs::path> candidate(const ImageRoot& root, const std::string& prefix, const std::string& identifier) {
  std::string rel = (root.prefix_as_path && !prefix.empty()) ? prefix + "/" + identifier : identifier;
  if (!safe_relative(rel)) return Error::bad_request("path.traversal", "unsafe path: " + rel);
  return root.root / rel;
}

Result<fs::path> resolve(const ImageRoot& root, const std::string& prefix, const std::string& identifier) {
  auto where = candidate(root, prefix, identifier);
  if (!where) return where.error();
  std::error_code ec;
  fs::path real = fs::canonical(*where, ec);
  if (ec) return Error::not_found("source.not_found", where->string() + ": " + ec.message());
  if (!is_below(root.root, real)) {
    return Error::bad_request("path.outside_root", real.string() + " is outside " + root.root.string());
  }
  if (!fs::is_regular_file(real, ec) || ::access(real.c_str(), R_OK) != 0) {
    return Error::not_found("source.not_found", real.string() + " is not a readable file");
  }
  return real;
}

}  // namespace sipi::source
