// Request bodies of Lua routes: multipart/form-data (http::parse_multipart, which reads the body
// from the file the server spooled it to) and application/x-www-form-urlencoded.
//
// Input layout: the first byte chooses the mode.
//   even: the rest is a body for the fixed boundary kBoundary;
//   odd:  the rest is "<Content-Type header value>\n<body>": the boundary is whatever
//         multipart_boundary() takes from the header (an empty one is refused, as the server does).
// Every body is also fed to parse_urlencoded(), and each decoded field to it again.
//
// Invariants: a file part's temporary file holds exactly its bytes and is removed when the
// result is dropped (no temporary file survives a request).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "core/form.h"
#include "fuzz_util.h"
#include "http/multipart.h"

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kBoundary = "----sipiFuzzBoundary7MA4YWxkTrZu0gW";

const fs::path& upload_dir() {
  static const fs::path d = [] {
    fs::path p = sipi_fuzz::scratch_dir() / "uploads";
    fs::create_directories(p);
    return p;
  }();
  return d;
}

void parse(const fs::path& body_file, std::string_view body, const std::string& boundary) {
  {
    std::ofstream f(body_file, std::ios::binary | std::ios::trunc);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  {
    auto r = sipi::http::parse_multipart(body_file, boundary, upload_dir());
    if (r) {
      for (const auto& [name, value] : r->fields) {
        FUZZ_CHECK(!name.empty(), "field without a name");
        (void)sipi::parse_urlencoded(value);
      }
      for (const auto& f : r->files) {
        FUZZ_CHECK(f.file != nullptr, "file part without a file");
        std::error_code ec;
        auto sz = fs::file_size(f.file->path(), ec);
        FUZZ_CHECK(!ec && sz == f.size, "upload " + f.file->path().string() + " holds " + std::to_string(sz) +
                                            " bytes, the part " + std::to_string(f.size));
        FUZZ_CHECK(f.size <= body.size(), "part larger than the body");
      }
    }
  }  // the result (and with it every TempFile) is gone here
  FUZZ_CHECK(sipi_fuzz::entries(upload_dir()) == 0, "a temporary upload file outlived its request");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)upload_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  static const fs::path body_file = sipi_fuzz::scratch_dir() / "body";
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string boundary;
  std::string_view body = in;
  if (data[0] % 2 == 0) {
    boundary = std::string(kBoundary);
  } else {
    auto nl = in.find('\n');
    std::string_view ctype = in.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    boundary = sipi::http::multipart_boundary(ctype);
    std::uint64_t bytes = 0;
    (void)sipi::parse_byte_size(ctype, bytes);
  }
  (void)sipi::parse_urlencoded(body);
  if (!boundary.empty()) parse(body_file, body, boundary);
  ::unlink(body_file.c_str());
  return 0;
}
