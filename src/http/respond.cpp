#include "http/respond.h"

#include <algorithm>
#include <cstring>

namespace sipi::http {

std::string_view RequestView::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string_view RequestView::path() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

Response error_response(const Error& e) {
  Response r;
  r.status = e.status;
  r.detail = e.detail;
  r.log_message = e.message;
  r.body = std::to_string(to_int(e.status)) + " " + reason_phrase(e.status) + "\n";
  if (!e.detail.empty()) r.body += e.detail + "\n";
  r.set("Content-Type", "text/plain; charset=utf-8");
  // Cross-origin viewers must be able to read the status of a failed info.json or tile.
  r.set("Access-Control-Allow-Origin", "*");
  return r;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  if (s.size() > 64) return std::nullopt;
  std::string str(s);
  std::tm tm{};
  const char* end = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

bool not_modified(const RequestView& req, const std::string& etag, std::time_t last_modified) {
  auto inm = req.header("if-none-match");
  if (!inm.empty()) {
    if (inm == "*") return true;
    // A list of entity tags; weak comparison is what If-None-Match uses.
    std::string_view rest = inm;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view tag = rest.substr(0, comma);
      while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
      while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
      if (tag.starts_with("W/")) tag.remove_prefix(2);
      if (tag == etag) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return false;
  }
  auto ims = req.header("if-modified-since");
  if (!ims.empty()) {
    auto t = parse_http_date(ims);
    return t && last_modified <= *t;
  }
  return false;
}

Response not_modified_response(const std::string& etag, std::time_t last_modified) {
  Response r;
  r.status = Status::not_modified;
  r.detail = "not_modified";
  r.set("ETag", etag);
  r.set("Last-Modified", http_date(last_modified));
  return r;
}

namespace {

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
           c == ']' || c == '_';
  });
}

// X-Forwarded-Prefix, the path a proxy mounts sipi under ("/images"): segments of unreserved
// characters only, so that no header can put a query, a fragment, "..", markup or a second
// host into the ids that viewers follow; "" when absent, "/" or not such a path.
std::string mount_prefix(std::string_view p) {
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p.empty() || p.front() != '/' || p.size() > 256) return {};
  std::size_t seg = 0;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      const auto s = p.substr(seg + 1, i - seg - 1);
      if (s.empty() || s == "." || s == "..") return {};
      seg = i;
      continue;
    }
    const char c = p[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' && c != '~') return {};
  }
  return std::string(p);
}

std::string_view first_value(std::string_view v) {
  auto comma = v.find(',');
  if (comma != std::string_view::npos) v = v.substr(0, comma);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

}  // namespace

std::string client_host(const RequestView& req) {
  std::string_view host = first_value(req.header("x-forwarded-host"));
  if (!valid_host(host)) host = req.header("host");
  return valid_host(host) ? std::string(host) : std::string();
}

std::string origin_of(const RequestView& req, const Config& cfg) {
  std::string scheme = "http";
  auto proto = first_value(req.header("x-forwarded-proto"));
  if (proto == "https" || proto == "http") scheme = std::string(proto);
  std::string_view host = first_value(req.header("x-forwarded-host"));
  if (!valid_host(host)) host = req.header("host");
  std::string h = valid_host(host) ? std::string(host) : cfg.hostname + ":" + std::to_string(cfg.port);
  return scheme + "://" + h + mount_prefix(first_value(req.header("x-forwarded-prefix")));
}

void add_vary(Response& r, const std::string& field) {
  for (auto& [name, value] : r.headers) {
    if (name == "Vary") {
      value += ", " + field;
      return;
    }
  }
  r.set("Vary", field);
}

void add_cors(Response& r, const RequestView& req, bool echo_origin) {
  auto origin = req.header("origin");
  if (echo_origin && !origin.empty() && origin.find_first_of("\r\n") == std::string_view::npos) {
    r.set("Access-Control-Allow-Origin", std::string(origin));
    r.set("Access-Control-Allow-Credentials", "true");
  } else {
    r.set("Access-Control-Allow-Origin", "*");
  }
  if (echo_origin) add_vary(r, "Origin");
  r.set("Access-Control-Expose-Headers", "Link, ETag, Content-Length");
}

}  // namespace sipi::http
