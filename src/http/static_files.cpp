// Files from fileserver.docroot under fileserver.wwwroute: GET and HEAD, MIME type by
// extension, Last-Modified/ETag, index.html for directories. Paths stay inside the docroot.
#include <sys/stat.h>


#include "core/media_types.h"
#include "core/path.h"
#include "core/percent.h"
#include "http/handlers.h"
#include "http/file_response.h"
#include "http/respond.h"

namespace sipi::http {
namespace fs = std::filesystem;

std::string mime_for(const fs::path& p) { return media_type_for_extension(p.extension().string()); }


namespace {

void put16(std::string& o, unsigned v) {
  o += static_cast<char>(v & 0xFF);
  o += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& o, std::uint32_t v) {
  put16(o, v & 0xFFFF);
  put16(o, v >> 16);
}

// A 32×32 icon drawn here (no file to install): a frame of dark teal around a lighter tile
// grid, 32-bit BMP in an ICO container.
std::string make_favicon() {
  constexpr unsigned kSide = 32;
  std::string o;
  put16(o, 0), put16(o, 1), put16(o, 1);                        // ICONDIR: reserved, icon, 1 image
  const std::uint32_t bmp = 40 + kSide * kSide * 4 + kSide * 4;  // header + BGRA + AND mask
  o += static_cast<char>(kSide), o += static_cast<char>(kSide), o += '\0', o += '\0';
  put16(o, 1), put16(o, 32), put32(o, bmp), put32(o, 22);       // planes, bpp, size, offset
  put32(o, 40), put32(o, kSide), put32(o, kSide * 2);            // BITMAPINFOHEADER (height x2)
  put16(o, 1), put16(o, 32), put32(o, 0), put32(o, kSide * kSide * 4);
  put32(o, 0), put32(o, 0), put32(o, 0), put32(o, 0);
  for (unsigned y = 0; y < kSide; ++y) {  // bottom-up rows
    for (unsigned x = 0; x < kSide; ++x) {
      const bool frame = x < 3 || y < 3 || x >= kSide - 3 || y >= kSide - 3;
      const bool line = (x % 10 == 5) || (y % 10 == 5);
      const unsigned char r = frame ? 20 : line ? 40 : 120, g = frame ? 90 : line ? 120 : 200,
                          b = frame ? 100 : line ? 130 : 210;
      o += static_cast<char>(b), o += static_cast<char>(g), o += static_cast<char>(r), o += static_cast<char>(255);
    }
  }
  o.append(kSide * 4, '\0');  // AND mask: all opaque
  return o;
}

}  // namespace

Response favicon_response(const RequestView& req) {
  static const std::string icon = make_favicon();
  Response r;
  r.detail = "favicon";
  r.set("Content-Type", "image/x-icon");
  r.set("Cache-Control", "public, max-age=604800");
  if (req.is_head()) r.content_length = static_cast<std::int64_t>(icon.size());
  else r.body = icon;
  return r;
}

Response handle_static(const AppContext& ctx, const RequestView& req) {
  std::string_view rest = req.path().substr(ctx.wwwroute.size());
  auto decoded = percent_decode(rest);
  if (!decoded) return error_response(Error::bad_request("path.encoding"));
  std::string rel = *decoded;
  // Reject dot-segments outright instead of normalising them.
  for (std::size_t start = 0; start <= rel.size();) {
    auto pos = rel.find('/', start);
    std::string_view part(rel.data() + start, (pos == std::string::npos ? rel.size() : pos) - start);
    if (part == "." || part == "..") return error_response(Error::bad_request("path.traversal"));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty() && !req.path().ends_with("/")) {
    Response r;  // "/server" → "/server/" so relative links in index.html resolve
    r.status = Status::see_other;
    r.detail = "redirect";
    r.set("Location", ctx.wwwroute + "/");
    return r;
  }
  std::error_code ec;
  fs::path real = fs::canonical(ctx.docroot / rel, ec);
  if (ec) return error_response(Error::not_found("file.not_found"));
  if (real != ctx.docroot && !is_below(ctx.docroot, real)) return error_response(Error::not_found("file.not_found"));
  if (fs::is_directory(real, ec)) real /= "index.html";
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return error_response(Error::not_found("file.not_found"));

  if (real.extension() == ".lua" || real.extension() == ".elua") return handle_script(ctx, req, real, true);
  Response r = file_response(req, real, mime_for(real));
  if (r.status == Status::ok || r.status == Status::partial_content) r.set("Cache-Control", "public, max-age=60");
  return r;
}

}  // namespace sipi::http
