// `sipi health --port N`: the probe for orchestrators (Docker HEALTHCHECK, systemd, k8s).
// Exit 0 when GET /health answers 200, whatever the body (as SIPI's: DSP points it at services
// whose /health says {"status":"UP"}); else 1 and one line on stderr.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

#include "cli/commands.h"

namespace sipi::cli {
namespace {

int fail(const std::string& why) {
  std::cerr << "sipi health: " << why << std::endl;
  return 1;
}

}  // namespace

int run_health(const std::string& host, int port, int timeout_seconds) {
  if (port < 1 || port > 65535) return fail("--port must be 1..65535");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
    return fail("cannot resolve " + host);
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  ::freeaddrinfo(res);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return fail("cannot connect to " + host + ":" + std::to_string(port));
  }
  const std::string req = "GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  std::string resp;
  bool ok = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (ok && resp.size() < 65536) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::close(fd);
      return fail("no answer within " + std::to_string(timeout_seconds) + " s");
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.x 200": any server's status line, not only ours.
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12 || resp.compare(8, 4, " 200") != 0) {
    return fail("unhealthy: " + resp.substr(0, resp.find('\r')));
  }
  return 0;
}

}  // namespace sipi::cli
