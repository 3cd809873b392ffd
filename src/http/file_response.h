// A file as an HTTP response, honouring a single byte range (RFC 9110 §14): 200 with the whole
// file, 206 with the range, 416 when no byte of it exists. A malformed Range header is ignored.
#pragma once

#include <filesystem>
#include <string>

#include "http/message.h"

namespace sipi::http {

struct ByteRange {
  std::uint64_t first = 0, last = 0;  // inclusive
};

enum class RangeParse { none, ok, unsatisfiable };

// Parses "bytes=a-b", "bytes=a-" and "bytes=-n" against a file of `size` bytes. Multiple
// ranges are served as the whole file (as if no Range were sent).
RangeParse parse_range(std::string_view header, std::uint64_t size, ByteRange& out);

Response file_response(const RequestView& req, const std::filesystem::path& path, const std::string& content_type);

}  // namespace sipi::http
