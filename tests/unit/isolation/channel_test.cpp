#include "isolation/channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace sipi::isolation;

namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    a = sv[0];
    b = sv[1];
  }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
};

// Sends `msg` on `sock` with the write end of a new pipe, which this side then closes; returns
// the read end (EOF once no copy of the write end is left anywhere).
int send_with_pipe(int sock, const char* msg) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  EXPECT_TRUE(send_message(sock, msg, p[1]));
  ::close(p[1]);
  return p[0];
}

}  // namespace

TEST(Channel, ADescriptorSentWithAJobArrivesWithIt) {
  Pair s;
  const int out = send_with_pipe(s.a, "job");
  bool timed_out = false;
  int passed = -1;
  auto m = receive_message(s.b, timed_out, passed);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "job");
  ASSERT_GE(passed, 0);
  // The helper writes through its copy; the server reads what it wrote.
  ASSERT_EQ(::write(passed, "out", 3), 3);
  ::close(passed);
  char buf[8] = {};
  EXPECT_EQ(::read(out, buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "out");
  EXPECT_EQ(::read(out, buf, sizeof buf), 0);  // no copy left anywhere
  ::close(out);
}

TEST(Channel, AMessageWithoutADescriptorPassesNone) {
  Pair s;
  ASSERT_TRUE(send_message(s.a, "plain"));
  bool timed_out = false;
  int passed = 7;
  auto m = receive_message(s.b, timed_out, passed);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "plain");
  EXPECT_EQ(passed, -1);
}

TEST(Channel, TheServersReceiveDropsADescriptorAHelperSends) {
  Pair s;
  const int out = send_with_pipe(s.a, "answer");
  bool timed_out = false;
  auto m = receive_message(s.b, timed_out);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "answer");
  // Had the write end been installed in this process, the read would block instead of EOF.
  char c;
  EXPECT_EQ(::read(out, &c, 1), 0);
  ::close(out);
}
