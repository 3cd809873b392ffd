#include "core/status.h"

namespace sipi {

const char* reason_phrase(Status s) {
  switch (s) {
    case Status::ok: return "OK";
    case Status::no_content: return "No Content";
    case Status::partial_content: return "Partial Content";
    case Status::see_other: return "See Other";
    case Status::not_modified: return "Not Modified";
    case Status::bad_request: return "Bad Request";
    case Status::unauthorized: return "Unauthorized";
    case Status::forbidden: return "Forbidden";
    case Status::not_found: return "Not Found";
    case Status::method_not_allowed: return "Method Not Allowed";
    case Status::payload_too_large: return "Payload Too Large";
    case Status::uri_too_long: return "URI Too Long";
    case Status::range_not_satisfiable: return "Range Not Satisfiable";
    case Status::header_fields_too_large: return "Request Header Fields Too Large";
    case Status::internal_error: return "Internal Server Error";
    case Status::not_implemented: return "Not Implemented";
    case Status::unavailable: return "Service Unavailable";
  }
  return "Error";
}

}  // namespace sipi
