// Plain request and response values. Handlers see these, never Beast types, so they can be
// tested without sockets; session.cpp converts at the edge.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/derivative_cache.h"
#include "core/config.h"
#include "core/networks.h"
#include "core/spooled.h"
#include "lua/runtime.h"
#include "core/status.h"
#include "service/context.h"
#include "service/memory_budget.h"

namespace sipi::http {

class TempFile;

struct RequestView {
  std::string method;  // "GET", "HEAD", …
  std::string target;  // as received: path and query
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string client_ip;
  unsigned short client_port = 0;
  std::string body;
  std::shared_ptr<TempFile> body_file;  // a multipart body, streamed to disk (removed afterwards)

  // First value of a header (name in lower case), or "".
  std::string_view header(std::string_view name) const;
  std::string_view path() const;  // target without the query
  bool is_head() const { return method == "HEAD"; }
};

struct Response {
  Status status = Status::ok;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::filesystem::path file;  // when set, the body is this file, streamed
  std::shared_ptr<const SpooledBody> spooled;  // when set, the body is this open file's range
  std::int64_t content_length = -1;  // for HEAD: the length a GET would have, -1 = unknown
  std::string detail;          // stable error/outcome code for the access log
  std::string log_message;     // why a 5xx happened: for the log only, never sent

  void set(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Everything handlers need, fixed at startup.
struct AppContext {
  std::shared_ptr<const Config> config;
  service::Context iiif;
  std::filesystem::path docroot;  // canonical, empty when no fileserver
  std::string wwwroute;
  std::shared_ptr<lua::Runtime> lua;  // null without an init script
  std::uint64_t max_body_bytes = std::uint64_t{1} << 30;  // max_post_size, parsed once
  std::vector<Network> trusted_proxies;  // empty: X-Forwarded-* from anyone (as SIPI)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

}  // namespace sipi::http
