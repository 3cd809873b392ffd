// HTTP status values used across stages, without pulling Beast into core/.
#pragma once

namespace sipi {

enum class Status : int {
  ok = 200,
  no_content = 204,
  partial_content = 206,
  see_other = 303,
  not_modified = 304,
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  payload_too_large = 413,
  uri_too_long = 414,
  range_not_satisfiable = 416,
  header_fields_too_large = 431,
  internal_error = 500,
  not_implemented = 501,
  unavailable = 503,
};

constexpr int to_int(Status s) { return static_cast<int>(s); }

// Standard reason phrase, used for the short human-readable error bodies.
const char* reason_phrase(Status s);

}  // namespace sipi
