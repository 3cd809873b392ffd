#include "http/file_response.h"

#include <sys/stat.h>

#include <charconv>
#include <fstream>

#include "http/respond.h"
#include "service/context.h"

namespace sipi::http {
namespace {

// One 206 response carries at most this much; clients ask again for the rest.
constexpr std::uint64_t kMaxRangeBytes = 64ULL * 1024 * 1024;

bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

RangeParse parse_range(std::string_view h, std::uint64_t size, ByteRange& out) {
  if (!h.starts_with("bytes=")) return RangeParse::none;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return RangeParse::none;
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return RangeParse::none;
  std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  std::uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix: the last y bytes
    if (!parse_u64(b, y)) return RangeParse::none;
    if (y == 0 || size == 0) return RangeParse::unsatisfiable;
    out = {size > y ? size - y : 0, size - 1};
    return RangeParse::ok;
  }
  if (!parse_u64(a, x)) return RangeParse::none;
  if (!b.empty() && (!parse_u64(b, y) || y < x)) return RangeParse::none;
  if (x >= size) return RangeParse::unsatisfiable;
  out = {x, b.empty() ? size - 1 : std::min(y, size - 1)};
  return RangeParse::ok;
}

Response file_response(const RequestView& req, const std::filesystem::path& path, const std::string& content_type) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return error_response(Error::not_found("file.not_found"));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string etag = service::make_etag(path.string() + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
                                        std::to_string(st.st_mtim.tv_nsec) + "|" + std::to_string(size));
  if (not_modified(req, etag, st.st_mtim.tv_sec)) return not_modified_response(etag, st.st_mtim.tv_sec);
  Response r;
  r.detail = "file";
  r.set("Content-Type", content_type);
  r.set("Accept-Ranges", "bytes");
  r.set("ETag", etag);
  r.set("Last-Modified", http_date(st.st_mtim.tv_sec));
  ByteRange range;
  auto rp = parse_range(req.header("range"), size, range);
  // If-Range: only a matching validator keeps the range; otherwise send everything.
  auto if_range = req.header("if-range");
  if (rp != RangeParse::none && !if_range.empty() && if_range != etag) rp = RangeParse::none;
  if (rp == RangeParse::unsatisfiable) {
    Response e = error_response({Status::range_not_satisfiable, "http.range", {}});
    e.set("Content-Range", "bytes */" + std::to_string(size));
    return e;
  }
  if (rp == RangeParse::ok) {
    range.last = std::min(range.last, range.first + kMaxRangeBytes - 1);
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(range.first));
    std::string part(static_cast<std::size_t>(range.last - range.first + 1), '\0');
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    if (!in) return error_response(Error::internal("file.read", path.string()));
    r.status = Status::partial_content;
    r.set("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                               std::to_string(size));
    if (req.is_head()) r.content_length = static_cast<std::int64_t>(part.size());
    else r.body = std::move(part);
    return r;
  }
  if (req.is_head()) r.content_length = static_cast<std::int64_t>(size);
  else r.file = path;
  return r;
}

}  // namespace sipi::http
