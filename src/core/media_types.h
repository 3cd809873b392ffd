// The one table of media types and file extensions: the Content-Type of a static file or a
// download named by its extension, and SIPI's consistency check between a declared MIME type
// and a file name (Lua server.file_mimetype_consistency, SipiImage:mimetype_consistency).
// What a file *is* comes from its bytes (libmagic, the codec registry); this table only says
// what a name claims.
#pragma once

#include <string>
#include <string_view>

namespace sipi {

// The MIME type (with "; charset=utf-8" for text) an extension (".jp2", any case) stands for;
// "application/octet-stream" for an unknown one.
std::string media_type_for_extension(std::string_view ext);

// True when `ext` (".tif", any case) is an extension of `mime` (no parameters).
bool extension_fits(std::string_view mime, std::string_view ext);

}  // namespace sipi
