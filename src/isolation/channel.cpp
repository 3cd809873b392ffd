#include "isolation/channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace sipi::isolation {

bool send_message(int fd, std::string_view msg) {
  for (;;) {
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(msg.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

std::optional<std::string> receive_message(int fd, std::chrono::milliseconds timeout, bool& timed_out) {
  timed_out = false;
  pollfd p{fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      return std::nullopt;
    }
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::nullopt;
    if (r == 0) continue;  // loop re-checks the deadline
    break;
  }
  // One receive buffer per thread, allocated once: a job or answer is a few hundred bytes, and
  // clearing a fresh 256 KiB buffer per message showed in the cost of a tile.
  thread_local std::unique_ptr<char[]> buf(new char[kMaxMessage]);
  for (;;) {
    ssize_t n = ::recv(fd, buf.get(), kMaxMessage, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // 0 = the helper closed its end (it died)
    return std::string(buf.get(), static_cast<std::size_t>(n));
  }
}

bool write_payload(int memfd, std::string_view data) {
  // No ftruncate: writing extends the file as needed, and the answer says how many bytes count
  // (resizing it for every answer freed and faulted in its pages again).
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(memfd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> read_payload(int memfd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(memfd, out.data() + done, n - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    done += static_cast<std::size_t>(r);
  }
  // Pages of a large answer stay allocated until the next answer overwrites them; free them.
  if (n > (8u << 20)) (void)::ftruncate(memfd, 0);
  return out;
}

}  // namespace sipi::isolation
