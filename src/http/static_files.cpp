// Files from fileserver.docroot under fileserver.wwwroute: GET and HEAD, MIME type by
// extension, Last-Modified/ETag, index.html for directories. Paths stay inside the docroot.
#include <sys/stat.h>

#include <array>
#include <cctype>

#include "core/path.h"
#include "core/percent.h"
#include "http/handlers.h"
#include "http/file_response.h"
#include "http/respond.h"

namespace sipi::http {
namespace fs = std::filesystem;
namespace {

struct Mime {
  std::string_view ext;
  std::string_view type;
};

constexpr std::array kMimes{
    Mime{".html", "text/html; charset=utf-8"}, Mime{".htm", "text/html; charset=utf-8"},
    Mime{".css", "text/css; charset=utf-8"},   Mime{".js", "text/javascript; charset=utf-8"},
    Mime{".mjs", "text/javascript; charset=utf-8"}, Mime{".json", "application/json"},
    Mime{".map", "application/json"},          Mime{".txt", "text/plain; charset=utf-8"},
    Mime{".svg", "image/svg+xml"},             Mime{".png", "image/png"},
    Mime{".jpg", "image/jpeg"},                Mime{".jpeg", "image/jpeg"},
    Mime{".gif", "image/gif"},                 Mime{".webp", "image/webp"},
    Mime{".ico", "image/x-icon"},              Mime{".tif", "image/tiff"},
    Mime{".tiff", "image/tiff"},               Mime{".jp2", "image/jp2"},
    Mime{".xml", "application/xml"},           Mime{".pdf", "application/pdf"},
    Mime{".csv", "text/csv; charset=utf-8"},  Mime{".mp4", "video/mp4"},
    Mime{".woff2", "font/woff2"},              Mime{".wasm", "application/wasm"},
};

}  // namespace

std::string mime_for(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& m : kMimes) {
    if (m.ext == ext) return std::string(m.type);
  }
  return "application/octet-stream";
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
