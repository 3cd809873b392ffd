#include "http/access_check.h"

#include <nlohmann/json.hpp>

#include "http/respond.h"

namespace sipi::http {

lua::RequestInfo request_info(const RequestView& req) {
  lua::RequestInfo info;
  info.method = req.method;
  // Behind a proxy the host the client asked for (SIPI's scripts build URLs from server.host).
  info.host = client_host(req);
  info.client_port = req.client_port;
  info.uri = std::string(req.path());
  info.client_ip = req.client_ip;
  // Behind a proxy: the rightmost X-Forwarded-For entry is the one the proxy itself added.
  std::string_view xff = req.header("x-forwarded-for");
  if (!xff.empty()) {
    auto comma = xff.rfind(',');
    std::string_view last = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
    while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
    if (!last.empty() && last.size() < 64) info.client_ip = std::string(last);
  }
  info.headers = req.headers;
  return info;
}

Result<std::optional<access::Decision>> run_pre_flight(const AppContext& ctx, const RequestView& req,
                                                       const iiif::ImageRef& ref) {
  if (!ctx.lua || !ctx.lua->has_pre_flight()) return std::optional<access::Decision>();
  lua::RequestInfo info = request_info(req);
  std::string identifier = ref.identifier + (ref.page > 0 ? "@" + std::to_string(ref.page) : "");
  auto r = ctx.lua->pre_flight(ref.prefix, identifier, std::string(req.header("cookie")), info);
  if (!r) return r.error();
  auto d = access::interpret(*r);
  if (!d) return d.error();
  return std::optional<access::Decision>(std::move(*d));
}

service::AccessOptions access_options(const std::optional<access::Decision>& d) {
  service::AccessOptions o;
  if (!d) return o;
  o.path = d->path;
  o.max_size = d->size;
  o.watermark = d->watermark;
  o.fingerprint = d->fingerprint();
  return o;
}

Response hook_response(const lua::ScriptResponse& s) {
  Response r;
  r.status = static_cast<Status>(s.status);
  r.detail = "access.hook_response";
  for (const auto& [k, v] : s.headers) r.set(k, v);
  r.body = s.body;
  return r;
}

std::string auth_service_json(const access::Decision& d) {
  nlohmann::ordered_json s;
  s["@context"] = "http://iiif.io/api/auth/1/context.json";
  s["@id"] = d.auth.at("cookieUrl");
  s["profile"] = std::string("http://iiif.io/api/auth/1/") + access::kind_name(d.kind);
  for (const auto& [k, v] : d.auth) {
    if (k != "cookieUrl" && k != "tokenUrl" && k != "logoutUrl") s[k] = v;
  }
  auto inner = nlohmann::ordered_json::array();
  inner.push_back({{"@id", d.auth.at("tokenUrl")}, {"profile", "http://iiif.io/api/auth/1/token"}});
  if (auto it = d.auth.find("logoutUrl"); it != d.auth.end()) {
    inner.push_back({{"@id", it->second}, {"profile", "http://iiif.io/api/auth/1/logout"}});
  }
  s["service"] = inner;
  return nlohmann::ordered_json::array({s}).dump();
}

}  // namespace sipi::http
