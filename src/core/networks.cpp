#include "core/networks.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace sipi {
namespace {

std::optional<std::array<std::uint8_t, 16>> address_of(std::string_view text, bool& v4) {
  std::string s(text);
  std::array<std::uint8_t, 16> a{};
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    a[10] = a[11] = 0xff;
    std::memcpy(a.data() + 12, &a4, 4);
    v4 = true;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.data()) == 1) {
    v4 = false;
    return a;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<Network>> parse_networks(std::string_view list) {
  std::vector<Network> out;
  while (!list.empty()) {
    const auto start = list.find_first_not_of(", \t");
    if (start == std::string_view::npos) break;
    list.remove_prefix(start);
    const auto end = list.find_first_of(", \t");
    const std::string_view item = list.substr(0, end);
    list.remove_prefix(end == std::string_view::npos ? list.size() : end);
    const auto slash = item.find('/');
    bool v4 = false;
    auto a = address_of(item.substr(0, slash), v4);
    if (!a) return std::nullopt;
    Network n{*a, 128};
    if (slash != std::string_view::npos) {
      const std::string_view bits = item.substr(slash + 1);
      int p = -1;
      auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), p);
      if (ec != std::errc() || ptr != bits.data() + bits.size() || p < 0 || p > (v4 ? 32 : 128)) return std::nullopt;
      n.prefix = v4 ? 96 + p : p;
    }
    out.push_back(n);
  }
  return out;
}

bool in_networks(const std::vector<Network>& nets, std::string_view ip) {
  bool v4 = false;
  auto a = address_of(ip, v4);
  if (!a) return false;
  for (const auto& n : nets) {
    int bits = n.prefix, i = 0;
    bool match = true;
    for (; bits >= 8 && match; bits -= 8, ++i) match = (*a)[i] == n.address[i];
    if (match && bits > 0) {
      const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
      match = ((*a)[i] & mask) == (n.address[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace sipi
