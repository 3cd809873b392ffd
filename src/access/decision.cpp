#include "access/decision.h"

namespace sipi::access {
namespace {

Error bad(const std::string& why) { return Error{Status::internal_error, "lua.hook_return", why}; }

}  // namespace

const char* kind_name(Decision::Kind k) {
  switch (k) {
    case Decision::Kind::allow: return "allow";
    case Decision::Kind::deny: return "deny";
    case Decision::Kind::restrict: return "restrict";
    case Decision::Kind::login: return "login";
    case Decision::Kind::clickthrough: return "clickthrough";
    case Decision::Kind::kiosk: return "kiosk";
    case Decision::Kind::external: return "external";
  }
  return "?";
}

std::string Decision::fingerprint() const {
  std::string f = kind_name(kind);
  if (size) f += "|size=" + *size;
  if (watermark) f += "|wm=" + *watermark;
  return f;
}

Result<Decision> interpret(const lua::HookReturn& r) {
  if (r.own_response) {
    Decision d;
    d.kind = Decision::Kind::deny;  // nothing is served from the image; the hook's answer is sent
    d.response = r.own_response;
    return d;
  }
  if (!r.bad_fields.empty()) return bad("pre_flight table value is not a string: " + r.bad_fields.front());
  Decision d;
  static const std::pair<const char*, Decision::Kind> kKinds[] = {
      {"allow", Decision::Kind::allow},   {"deny", Decision::Kind::deny},
      {"restrict", Decision::Kind::restrict}, {"login", Decision::Kind::login},
      {"clickthrough", Decision::Kind::clickthrough}, {"kiosk", Decision::Kind::kiosk},
      {"external", Decision::Kind::external}};
  bool known = false;
  for (const auto& [name, kind] : kKinds) {
    if (r.permission == name) {
      d.kind = kind;
      known = true;
    }
  }
  if (!known) return bad("unknown permission '" + r.permission + "'");
  if (d.kind != Decision::Kind::deny) {
    if (!r.path || r.path->empty()) return bad("pre_flight must return a file path with '" + r.permission + "'");
    d.path = r.path;
  }
  if (d.kind == Decision::Kind::restrict) {
    if (auto it = r.fields.find("size"); it != r.fields.end()) d.size = it->second;
    if (auto it = r.fields.find("watermark"); it != r.fields.end()) d.watermark = it->second;
    if (!d.size && !d.watermark) return bad("restrict needs size or watermark");
  }
  if (d.is_auth()) {
    for (const auto& [k, v] : r.fields) {
      if (k != "type") d.auth[k] = v;
    }
    if (!d.auth.count("cookieUrl") || !d.auth.count("tokenUrl")) {
      return bad(std::string(kind_name(d.kind)) + " needs cookieUrl and tokenUrl");
    }
  }
  return d;
}

}  // namespace sipi::access
