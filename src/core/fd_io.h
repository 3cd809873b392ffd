// Whole reads and writes on a descriptor: the loops every file and socket user needs (short
// counts, EINTR), written once.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace sipi {

namespace detail {
// Runs `io(p, n, done)` (a read or write of at most `n` bytes at `p`, `done` bytes in) until all
// `n` bytes are through: short counts and EINTR handled here. False on an error or no progress.
template <class Char, class Io>
bool whole(Char* p, std::size_t n, Io io) {
  std::uint64_t done = 0;
  while (n > 0) {
    ssize_t r = io(p, n, done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    done += static_cast<std::uint64_t>(r);
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
}  // namespace detail

// Writes all `n` bytes at the descriptor's position. False on an error (errno set) or no progress.
inline bool write_all(int fd, const void* buf, std::size_t n) {
  return detail::whole(static_cast<const char*>(buf), n,
                       [fd](const char* p, std::size_t k, std::uint64_t) { return ::write(fd, p, k); });
}

// Reads exactly `n` bytes from the descriptor's position. False on an error or end of file.
inline bool read_exact(int fd, void* buf, std::size_t n) {
  return detail::whole(static_cast<char*>(buf), n, [fd](char* p, std::size_t k, std::uint64_t) { return ::read(fd, p, k); });
}

// Reads exactly `n` bytes at `offset` (pread: the position is untouched, so readers may share
// the descriptor). False on an error or end of file.
inline bool read_at(int fd, void* buf, std::size_t n, std::uint64_t offset) {
  return detail::whole(static_cast<char*>(buf), n, [fd, offset](char* p, std::size_t k, std::uint64_t done) {
    return ::pread(fd, p, k, static_cast<off_t>(offset + done));
  });
}

}  // namespace sipi
