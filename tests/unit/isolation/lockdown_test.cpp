// What a locked-down decode helper can no longer do, checked in a forked child (the filters
// cannot be removed again): each refused action sets no bit in the exit code; a bit set names
// the action that got through.
#include "isolation/lockdown.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "isolation/channel.h"

namespace sipi::isolation {
namespace {
namespace fs = std::filesystem;

TEST(Lockdown, HelperCannotWriteConnectExecOrSignalOthers) {
  fs::path base = fs::temp_directory_path() / ("sipi-lockdown-" + std::to_string(::getpid()));
  fs::path scratch = base / "scratch";
  fs::create_directories(scratch);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string missing = lock_down({0, scratch});
    int bad = 0;
    if (!missing.empty()) bad |= 1;
    if (::socket(AF_INET, SOCK_STREAM, 0) >= 0) bad |= 2;
    if (::socket(AF_UNIX, SOCK_STREAM, 0) >= 0) bad |= 2;
    if (::open((base / "outside").c_str(), O_WRONLY | O_CREAT, 0600) >= 0) bad |= 4;
    if (::open((scratch / "inside").c_str(), O_WRONLY | O_CREAT, 0600) < 0) bad |= 8;  // scratch is writable
    if (::open("/etc/hostname", O_RDONLY) < 0 && ::open("/proc/self/status", O_RDONLY) < 0) bad |= 16;  // reads work
    const char* argv[] = {"/bin/true", nullptr};
    ::execv("/bin/true", const_cast<char**>(argv));
    if (errno != EACCES) bad |= 32;
    if (::kill(parent, 0) == 0) bad |= 64;
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    if (core.rlim_max != 0) bad |= 128;
    ::_exit(bad);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "bits: 1 not all applied, 2 socket, 4 write outside scratch, 8 scratch not "
                                   "writable, 16 no reads, 32 exec, 64 signal parent, 128 core dumps";
  EXPECT_TRUE(fs::exists(scratch / "inside"));
  EXPECT_FALSE(fs::exists(base / "outside"));
  fs::remove_all(base);
}

TEST(Lockdown, CpuLimitStopsARunawayJob) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    limit_cpu_for_next_job(1);
    for (;;) asm volatile("");
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGXCPU);
}

TEST(Channel, MessagesAndPayloads) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  ASSERT_TRUE(send_message(sv[0], "hello"));
  bool timed_out = true;
  auto m = receive_message(sv[1], std::chrono::seconds(1), timed_out);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "hello");
  EXPECT_FALSE(timed_out);
  EXPECT_FALSE(receive_message(sv[1], std::chrono::milliseconds(50), timed_out));
  EXPECT_TRUE(timed_out);
  ::close(sv[0]);
  EXPECT_FALSE(receive_message(sv[1], std::chrono::seconds(1), timed_out));  // peer gone: EOF
  EXPECT_FALSE(timed_out);
  ::close(sv[1]);

}

TEST(Channel, PayloadsThroughTheWindowAndBeyond) {
  auto server = PayloadArea::create();
  ASSERT_TRUE(server);
  EXPECT_GE(server->fd(), 10);  // clear of the descriptors a spawn maps
  auto helper = PayloadArea::attach(::dup(server->fd()));
  ASSERT_TRUE(helper);
  std::string tile(40000, 't');
  tile[39999] = 'z';
  ASSERT_TRUE(helper->write(tile));
  EXPECT_EQ(*server->read(tile.size()), tile);
  std::string big(kWindow + (3u << 20), 'x');
  big[kWindow + 12345] = 'y';
  big[5] = 'w';
  ASSERT_TRUE(helper->write(big));
  auto back = server->read(big.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, big);
  // The pages beyond the window are given back (reading a hole gives zeros).
  char c = 'q';
  ASSERT_EQ(::pread(server->fd(), &c, 1, static_cast<off_t>(kWindow + 12345)), 1);
  EXPECT_EQ(c, '\0');
  ASSERT_TRUE(helper->write("small"));
  EXPECT_EQ(*server->read(5), "small");
  // Nobody can shrink the area under the server's mapping.
  EXPECT_NE(::ftruncate(helper->fd(), 0), 0);
}

TEST(Channel, ReceiveTimesOutOnTheSocketTimeout) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  timeval tv{0, 50000};
  ASSERT_EQ(::setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  bool timed_out = false;
  EXPECT_FALSE(receive_message(sv[1], timed_out));
  EXPECT_TRUE(timed_out);
  ASSERT_TRUE(send_message(sv[0], "job"));
  EXPECT_EQ(*receive_message(sv[1], timed_out), "job");
  ::close(sv[0]);
  EXPECT_FALSE(receive_message(sv[1], timed_out));
  EXPECT_FALSE(timed_out);
  ::close(sv[1]);
}

}  // namespace
}  // namespace sipi::isolation
