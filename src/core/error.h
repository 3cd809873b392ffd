// The one error type of sipi: an HTTP status, a stable dotted detail code that is safe to show
// to clients and to count in metrics, and a message for the log only (it may hold paths).
#pragma once

#include <string>
#include <utility>

#include "core/status.h"

namespace sipi {

struct Error {
  Status status = Status::internal_error;
  std::string detail;   // stable, e.g. "iiif.size.upscale_without_caret"; never holds input text
  std::string message;  // for the log; may hold paths or library text; never sent to a client

  static Error bad_request(std::string detail, std::string message = {}) {
    return {Status::bad_request, std::move(detail), std::move(message)};
  }
  static Error not_found(std::string detail, std::string message = {}) {
    return {Status::not_found, std::move(detail), std::move(message)};
  }
  static Error not_implemented(std::string detail, std::string message = {}) {
    return {Status::not_implemented, std::move(detail), std::move(message)};
  }
  static Error internal(std::string detail, std::string message = {}) {
    return {Status::internal_error, std::move(detail), std::move(message)};
  }
};

}  // namespace sipi
