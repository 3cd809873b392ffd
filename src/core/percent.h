// Percent-decoding of one URL path segment (RFC 3986). One of the two parsers sipi writes itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sipi {

// Decodes %XX escapes once. Returns nullopt for a malformed escape ("%4", "%zz") or a decoded
// NUL byte, which no identifier may hold. '+' is left as is: it means space only in queries.
std::optional<std::string> percent_decode(std::string_view in);

// Form encoding (application/x-www-form-urlencoded): '+' is a space, and a malformed escape
// is kept as it is instead of failing (browsers send such forms).
std::string form_decode(std::string_view in);

}  // namespace sipi
