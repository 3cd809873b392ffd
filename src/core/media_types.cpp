#include "core/media_types.h"

#include <array>
#include <cctype>

namespace sipi {
namespace {

struct Type {
  std::string_view mime;
  std::string_view extensions;  // space-separated; the first one names the type's content type
  bool text = false;            // served with charset=utf-8
};

// One row per MIME type. JPEG 2000 has three: the JP2 file format, JPX (which readers take as
// JP2 when the file is JP2-compatible) and the bare codestream.
constexpr std::array kTypes{
    Type{"text/html", ".html .htm", true},
    Type{"text/css", ".css", true},
    Type{"text/javascript", ".js .mjs", true},
    Type{"application/json", ".json .map"},
    Type{"text/csv", ".csv", true},
    Type{"text/plain", ".txt .md .csv", true},  // libmagic calls many CSV files text/plain
    Type{"application/xml", ".xml"},
    Type{"text/xml", ".xml", true},
    Type{"image/svg+xml", ".svg"},
    Type{"image/png", ".png"},
    Type{"image/jpeg", ".jpg .jpeg .jpe"},
    Type{"image/gif", ".gif"},
    Type{"image/webp", ".webp"},
    Type{"image/x-icon", ".ico"},
    Type{"image/tiff", ".tif .tiff"},
    Type{"image/x-jp2-codestream", ".j2c .j2k"},
    Type{"image/jp2", ".jp2 .jpf .jpx .j2k"},
    Type{"image/jpx", ".jpx .jp2 .jpf"},
    Type{"application/pdf", ".pdf"},
    Type{"application/zip", ".zip"},
    Type{"video/mp4", ".mp4"},
    Type{"audio/mpeg", ".mp3"},
    Type{"audio/x-wav", ".wav"},
    Type{"font/woff2", ".woff2"},
    Type{"application/wasm", ".wasm"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool listed(std::string_view list, const std::string& ext) {
  if (ext.size() < 2) return false;
  const std::string padded = " " + std::string(list) + " ";
  return padded.find(" " + ext + " ") != std::string::npos;
}

}  // namespace

std::string media_type_for_extension(std::string_view ext) {
  const std::string e = lower(ext);
  for (const auto& t : kTypes) {
    if (listed(t.extensions, e)) return std::string(t.mime) + (t.text ? "; charset=utf-8" : "");
  }
  return "application/octet-stream";
}

bool extension_fits(std::string_view mime, std::string_view ext) {
  const std::string e = lower(ext);
  for (const auto& t : kTypes) {
    if (t.mime == mime) return listed(t.extensions, e);
  }
  return false;
}

}  // namespace sipi
