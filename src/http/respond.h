// The one place that builds error responses and the headers every response shares.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "core/error.h"
#include "http/message.h"

namespace sipi::http {

// Short text body "<code> <reason>\n<detail>\n": never paths, library text or request text.
Response error_response(const Error& e);

// RFC 7231 IMF-fixdate, and its parser (nullopt when malformed).
std::string http_date(std::time_t t);
std::optional<std::time_t> parse_http_date(std::string_view s);

// True when If-None-Match / If-Modified-Since say the client's copy is current (RFC 7232 §6).
bool not_modified(const RequestView& req, const std::string& etag, std::time_t last_modified);

// 304 with the validators.
Response not_modified_response(const std::string& etag, std::time_t last_modified);

// "{scheme}://{host}{mount}" as the client addressed this server: X-Forwarded-Proto /
// X-Forwarded-Host when present and well-formed, else Host, else the configured hostname and
// port; {mount} is X-Forwarded-Prefix ("/images") when it is a plain path, else nothing.
std::string origin_of(const RequestView& req, const Config& cfg);
// The host the client asked for: X-Forwarded-Host behind a proxy, else Host; "" when neither is
// a well-formed host name.
std::string client_host(const RequestView& req);

// CORS for a simple response: '*', or the caller's Origin echoed with credentials (SIPI does
// the latter for images, so cookie-authenticated viewers work).
// Appends to the Vary header (one header, comma-separated), adding it if absent.
void add_vary(Response& r, const std::string& field);
void add_cors(Response& r, const RequestView& req, bool echo_origin);

}  // namespace sipi::http
