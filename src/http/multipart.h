// multipart/form-data (RFC 7578) from a request body stored in a file: form fields into
// memory, file parts into their own temporary files. The body file is memory-mapped, so a
// large upload costs page cache, not heap.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace sipi::http {

// A file that is removed when the last owner lets go.
class TempFile {
 public:
  static Result<std::shared_ptr<TempFile>> create(const std::filesystem::path& dir);
  ~TempFile();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempFile(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

struct UploadedFile {
  std::string fieldname, origname, mimetype;
  std::shared_ptr<TempFile> file;
  std::uint64_t size = 0;
};

struct MultipartResult {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<UploadedFile> files;
};

// The boundary parameter of a multipart/form-data Content-Type ("" if none).
std::string multipart_boundary(std::string_view content_type);

// Errors: 400 http.multipart (malformed body), 500 http.tempfile.
Result<MultipartResult> parse_multipart(const std::filesystem::path& body, const std::string& boundary,
                                        const std::filesystem::path& tmpdir);

}  // namespace sipi::http
