#include "isolation/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/fd_io.h"

namespace sipi::isolation {

bool send_message(int fd, std::string_view msg, int pass) {
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (pass >= 0) {
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd, &m, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(msg.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

std::optional<std::string> receive_message(int fd, bool& timed_out) {
  int passed = -1;
  auto m = receive_message(fd, timed_out, passed);
  if (passed >= 0) ::close(passed);  // the server takes no descriptors from a helper
  return m;
}

std::optional<std::string> receive_message(int fd, bool& timed_out, int& passed) {
  timed_out = false;
  passed = -1;
  // One receive buffer per thread, allocated once: a job or answer is a few hundred bytes, and
  // clearing a fresh 256 KiB buffer per message showed in the cost of a tile.
  thread_local std::unique_ptr<char[]> buf(new char[kMaxMessage]);
  for (;;) {
    iovec iov{buf.get(), kMaxMessage};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timed_out = true;  // SO_RCVTIMEO
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
        std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
      }
    }
    if (n <= 0) {  // 0 = the peer closed its end (it died)
      if (passed >= 0) ::close(passed);
      passed = -1;
      return std::nullopt;
    }
    return std::string(buf.get(), static_cast<std::size_t>(n));
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
  return receive_message(fd, timed_out);
}

std::optional<PayloadArea> PayloadArea::create() {
  int low = ::memfd_create("sipi-decode", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (low < 0) return std::nullopt;
  // Above the descriptors a spawn maps to 0-4, so that no mapping clobbers another's source.
  int fd = ::fcntl(low, F_DUPFD_CLOEXEC, 10);
  ::close(low);
  if (fd < 0) return std::nullopt;
  if (::ftruncate(fd, static_cast<off_t>(kWindow)) != 0 || ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  void* m = ::mmap(nullptr, kWindow, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    ::close(fd);
    return std::nullopt;
  }
  return PayloadArea(fd, m);
}

std::optional<PayloadArea> PayloadArea::attach(int fd) {
  void* m = ::mmap(nullptr, kWindow, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return std::nullopt;
  return PayloadArea(fd, m);
}

PayloadArea::PayloadArea(PayloadArea&& o) noexcept : fd_(o.fd_), map_(o.map_) {
  o.fd_ = -1;
  o.map_ = nullptr;
}

PayloadArea& PayloadArea::operator=(PayloadArea&& o) noexcept {
  if (this != &o) {
    reset();
    std::swap(fd_, o.fd_);
    std::swap(map_, o.map_);
  }
  return *this;
}

PayloadArea::~PayloadArea() { reset(); }

void PayloadArea::reset() {
  if (map_) ::munmap(map_, kWindow);
  if (fd_ >= 0) ::close(fd_);
  map_ = nullptr;
  fd_ = -1;
}

bool PayloadArea::write(std::string_view data) {
  if (data.size() <= kWindow) {
    std::memcpy(map_, data.data(), data.size());
    return true;
  }
  // Writing extends the file as needed, and the answer says how many bytes count.
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> PayloadArea::read(std::size_t n) {
  if (n <= kWindow) return std::string(map_, n);
  std::string out(n, '\0');
  if (!read_at(fd_, out.data(), n, 0)) return std::nullopt;
  // The file cannot shrink (sealed): give the pages beyond the window back instead.
  (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(kWindow),
                    static_cast<off_t>(n - kWindow));
  return out;
}

}  // namespace sipi::isolation
