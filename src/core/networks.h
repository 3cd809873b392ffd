// Address ranges ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8") for trusted_proxies: only
// requests from these peers may set X-Forwarded-Host/-Proto/-For, so a client cannot make
// info.json name another host, or claim another address to a pre_flight hook.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sipi {

struct Network {
  std::array<std::uint8_t, 16> address{};  // IPv4 as ::ffff:a.b.c.d
  int prefix = 128;
};

// A list separated by commas or spaces; nothing when an entry is not an address or range.
std::optional<std::vector<Network>> parse_networks(std::string_view list);

// Whether `ip` (textual, as the server saw the peer) lies in one of `nets`.
bool in_networks(const std::vector<Network>& nets, std::string_view ip);

}  // namespace sipi
