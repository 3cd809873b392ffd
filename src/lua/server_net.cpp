// server.http, server.generate_jwt / decode_jwt, server.requireAuth, server.sendCookie.
// Each C function does its C++ work in an inner scope and only then touches the Lua stack, so
// no object with a destructor is alive if Lua raises an error (it unwinds with longjmp).
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lua/server_api.h"

namespace sipi::lua {
namespace {

constexpr std::size_t kMaxHttpBody = 16 * 1024 * 1024;

std::string b64url(const std::string& in) {
  static const char* kA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kA[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kA[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

bool b64url_decode(const std::string& in, std::string& out) {
  out.clear();
  int val = 0, bits = -8;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '-' || c == '+') d = 62;
    else if (c == '_' || c == '/') d = 63;
    else if (c == '=') break;
    else return false;
    val = (val << 6) + d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return true;
}

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string jwt_secret(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "sipi.jwt_secret");
  std::string s = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  return s;
}

int fail(lua_State* L, const std::string& msg) {
  lua_pushboolean(L, 0);
  lua_pushstring(L, msg.c_str());
  return 2;
}

int l_generate_jwt(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  std::string token, err;
  {
    std::string secret = jwt_secret(L);
    std::string payload;
    try {
      payload = lua_to_json(L, 1).dump();
    } catch (const std::exception& e) {
      err = e.what();
    }
    if (secret.empty()) err = "no jwt_secret configured";
    if (err.empty()) {
      std::string head = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(payload);
      token = head + "." + b64url(hmac_sha256(secret, head));
    }
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  lua_pushstring(L, token.c_str());
  return 2;
}

int l_decode_jwt(lua_State* L) {
  std::string token = luaL_checkstring(L, 1);
  nlohmann::json claims;
  std::string err;
  {
    std::string secret = jwt_secret(L);
    auto d1 = token.find('.'), d2 = token.rfind('.');
    std::string header, payload, sig;
    if (d1 == std::string::npos || d1 == d2) {
      err = "malformed token";
    } else if (!b64url_decode(token.substr(0, d1), header) || !b64url_decode(token.substr(d1 + 1, d2 - d1 - 1), payload) ||
               !b64url_decode(token.substr(d2 + 1), sig)) {
      err = "malformed token";
    } else {
      try {
        auto h = nlohmann::json::parse(header);
        if (h.value("alg", "") != "HS256") err = "unsupported algorithm";  // refuses "none"
        std::string expected = hmac_sha256(secret, token.substr(0, d2));
        if (err.empty() && (secret.empty() || sig.size() != expected.size() ||
                            CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) != 0)) {
          err = "invalid signature";
        }
        if (err.empty()) {
          claims = nlohmann::json::parse(payload);
          if (!claims.contains("exp") || !claims["exp"].is_number()) err = "token has no exp";
          else if (claims["exp"].get<double>() < static_cast<double>(std::time(nullptr))) err = "token expired";
        }
      } catch (const std::exception&) {
        err = "malformed token";
      }
    }
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  json_to_lua(L, claims);
  return 2;
}

int l_require_auth(lua_State* L) {
  std::string auth;
  lua_getglobal(L, "server");
  lua_getfield(L, -1, "header");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "authorization");
    if (lua_isstring(L, -1)) auth = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  std::string status = "NOAUTH", user, password, token, message;
  {
    if (auth.rfind("Basic ", 0) == 0) {
      std::string decoded;
      std::string b64 = auth.substr(6);
      if (!b64url_decode(b64, decoded) || decoded.find(':') == std::string::npos) {
        status = "ERROR";
        message = "malformed Basic credentials";
      } else {
        status = "BASIC";
        user = decoded.substr(0, decoded.find(':'));
        password = decoded.substr(decoded.find(':') + 1);
      }
    } else if (auth.rfind("Bearer ", 0) == 0) {
      status = "BEARER";
      token = auth.substr(7);
    } else if (!auth.empty()) {
      status = "ERROR";
      message = "unsupported authorization scheme";
    }
  }
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushstring(L, status.c_str());
  lua_setfield(L, -2, "status");
  if (status == "BASIC") {
    lua_pushstring(L, user.c_str());
    lua_setfield(L, -2, "username");
    lua_pushstring(L, password.c_str());
    lua_setfield(L, -2, "password");
  }
  if (status == "BEARER") {
    lua_pushstring(L, token.c_str());
    lua_setfield(L, -2, "token");
  }
  if (status == "ERROR") {
    lua_pushstring(L, message.c_str());
    lua_setfield(L, -2, "message");
  }
  return 2;
}

struct HttpResult {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool too_big = false;
  std::string error;
  double ms = 0;
};

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* ud) {
  auto* r = static_cast<HttpResult*>(ud);
  if (r->body.size() + size * n > kMaxHttpBody) {
    r->too_big = true;
    return 0;
  }
  r->body.append(p, size * n);
  return size * n;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* ud) {
  auto* r = static_cast<HttpResult*>(ud);
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    r->headers.emplace_back(k, v);
  }
  return size * n;
}

// server.http("GET", url [, headers] [, timeout_ms]) → true, {status_code, header, body, duration}
int l_http(lua_State* L) {
  std::string method = luaL_checkstring(L, 1);
  std::string url = luaL_checkstring(L, 2);
  std::vector<std::string> headers;
  long timeout_ms = 2000;
  int arg = 3;
  if (lua_istable(L, arg)) {
    lua_pushnil(L);
    while (lua_next(L, arg)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
        headers.push_back(std::string(lua_tostring(L, -2)) + ": " + lua_tostring(L, -1));
      }
      lua_pop(L, 1);
    }
    ++arg;
  }
  if (lua_isinteger(L, arg)) timeout_ms = static_cast<long>(lua_tointeger(L, arg));
  long remaining = remaining_ms(L);
  timeout_ms = std::max(1L, std::min(timeout_ms, remaining));
  if (method != "GET") return fail(L, "server.http supports GET only");
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) return fail(L, "url must be http:// or https://");
  HttpResult r;
  {
    auto t0 = std::chrono::steady_clock::now();
    CURL* c = curl_easy_init();
    curl_slist* list = nullptr;
    for (const auto& h : headers) {
      if (h.find_first_of("\r\n") == std::string::npos) list = curl_slist_append(list, h.c_str());
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) r.error = r.too_big ? "response body too large" : curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  if (!r.error.empty()) return fail(L, r.error);
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushinteger(L, r.status);
  lua_setfield(L, -2, "status_code");
  lua_pushlstring(L, r.body.data(), r.body.size());
  lua_setfield(L, -2, "body");
  lua_pushnumber(L, r.ms);
  lua_setfield(L, -2, "duration");
  lua_newtable(L);
  for (const auto& [k, v] : r.headers) {
    lua_pushstring(L, v.c_str());
    lua_setfield(L, -2, k.c_str());
  }
  lua_setfield(L, -2, "header");
  return 2;
}

// server.sendCookie(name, value [, {path=, domain=, expires=secs, secure=bool, http_only=bool}])
int l_send_cookie(lua_State* L) {
  std::string name = luaL_checkstring(L, 1), value = luaL_checkstring(L, 2);
  std::string cookie = name + "=" + value;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "path");
    if (lua_isstring(L, -1)) cookie += std::string("; Path=") + lua_tostring(L, -1);
    lua_getfield(L, 3, "domain");
    if (lua_isstring(L, -1)) cookie += std::string("; Domain=") + lua_tostring(L, -1);
    lua_getfield(L, 3, "expires");
    if (lua_isinteger(L, -1)) cookie += "; Max-Age=" + std::to_string(lua_tointeger(L, -1));
    lua_getfield(L, 3, "secure");
    if (lua_toboolean(L, -1)) cookie += "; Secure";
    lua_getfield(L, 3, "http_only");
    if (lua_toboolean(L, -1)) cookie += "; HttpOnly";
    lua_pop(L, 5);
  }
  if (cookie.find_first_of("\r\n") != std::string::npos || name.empty() || name.find_first_of("=; ") != std::string::npos) {
    return fail(L, "invalid cookie");
  }
  add_response_header(L, "Set-Cookie", cookie);
  lua_pushboolean(L, 1);
  return 1;
}

}  // namespace

void register_net_functions(lua_State* L) {
  const luaL_Reg fns[] = {{"http", l_http}, {"generate_jwt", l_generate_jwt}, {"decode_jwt", l_decode_jwt},
                          {"requireAuth", l_require_auth}, {"sendCookie", l_send_cookie}, {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
}

}  // namespace sipi::lua
