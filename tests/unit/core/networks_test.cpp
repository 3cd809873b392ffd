#include "core/networks.h"

#include <gtest/gtest.h>

using sipi::in_networks;
using sipi::parse_networks;

TEST(Networks, MatchesAddressesAndRanges) {
  auto nets = parse_networks("127.0.0.1, 10.0.0.0/8 fd00::/8,::1");
  ASSERT_TRUE(nets);
  EXPECT_EQ(nets->size(), 4u);
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "10.255.255.255", "fd12::5", "::1"}) EXPECT_TRUE(in_networks(*nets, ip)) << ip;
  for (const char* ip : {"127.0.0.2", "11.0.0.1", "192.168.1.1", "fe80::1", "::2", "", "not-an-ip"}) {
    EXPECT_FALSE(in_networks(*nets, ip)) << ip;
  }
  auto odd = parse_networks("192.168.4.0/22");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(in_networks(*odd, "192.168.7.255"));
  EXPECT_FALSE(in_networks(*odd, "192.168.8.0"));
  EXPECT_TRUE(parse_networks("") && parse_networks("")->empty());
}

TEST(Networks, RefusesWhatIsNotARange) {
  for (const char* bad : {"localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8x", "::1/129", "1.2.3"}) {
    EXPECT_FALSE(parse_networks(bad)) << bad;
  }
}
