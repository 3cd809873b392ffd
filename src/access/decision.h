// What a pre_flight hook decided, validated: SIPI's vocabulary (allow, deny, restrict, and the
// IIIF Auth 1.0 kinds login, clickthrough, kiosk, external) plus the file to serve.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "lua/runtime.h"

namespace sipi::access {

struct Decision {
  enum class Kind { allow, deny, restrict, login, clickthrough, kiosk, external };
  Kind kind = Kind::allow;
  std::optional<std::string> size;       // restrict: the largest IIIF size to deliver
  std::optional<std::string> watermark;  // restrict: image blended into every response
  std::map<std::string, std::string> auth;  // auth kinds: cookieUrl, tokenUrl, logoutUrl, labels
  std::optional<std::string> path;       // the file to serve
  std::optional<lua::ScriptResponse> response;  // the hook answered itself (server.sendStatus)

  bool serves() const { return kind == Kind::allow || kind == Kind::restrict; }
  bool is_auth() const { return kind >= Kind::login; }
  // Stable text naming what changes the bytes (for ETags and, later, the cache key).
  std::string fingerprint() const;
};

const char* kind_name(Decision::Kind k);

// Errors (500 lua.hook_return): an unknown permission, a non-string table value, a serving
// decision without a path, restrict without size or watermark, an auth kind without
// cookieUrl and tokenUrl.
Result<Decision> interpret(const lua::HookReturn& r);

}  // namespace sipi::access
