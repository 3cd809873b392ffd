// Reading a JPEG 2000 file by offset, shared by the index builder and the region decoder.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>

namespace sipi::source::jp2 {

inline std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
inline std::uint32_t be32(const unsigned char* p) { return (be16(p) << 16) | be16(p + 2); }
inline std::uint64_t be64(const unsigned char* p) { return (std::uint64_t{be32(p)} << 32) | be32(p + 4); }

struct File {  // a read-only descriptor, closed on destruction; pread() only
  int fd;
  explicit File(const std::filesystem::path& p) : fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  bool read(std::uint64_t off, void* buf, std::size_t n) const {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
      if (r <= 0) return false;
      p += r;
      off += static_cast<std::uint64_t>(r);
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  std::uint64_t size() const {
    off_t e = ::lseek(fd, 0, SEEK_END);
    return e < 0 ? 0 : static_cast<std::uint64_t>(e);
  }
};

}  // namespace sipi::source::jp2
