// Reading a JPEG 2000 file by offset, shared by the index builder and the region decoder.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "core/fd_io.h"

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
  bool read(std::uint64_t off, void* buf, std::size_t n) const { return read_at(fd, buf, n, off); }
  std::uint64_t size() const {
    off_t e = ::lseek(fd, 0, SEEK_END);
    return e < 0 ? 0 : static_cast<std::uint64_t>(e);
  }
};

// One read source over pieces of memory and of the file, e.g. [main header][tile-parts…][EOC]:
// what OpenJPEG's stream callbacks and OpenJPH's input read, without copying the file's bytes
// until the decoder asks for them (and not at all for what it seeks over).
class Segments {
 public:
  explicit Segments(const File& f) : file_(&f) {}
  void add_mem(const char* p, std::uint64_t n) { add({p, 0, n}); }
  void add_owned(std::string s) {
    owned_.push_back(std::move(s));
    add({owned_.back().data(), 0, owned_.back().size()});
  }
  void add_file(std::uint64_t off, std::uint64_t n) { add({nullptr, off, n}); }
  std::uint64_t total() const { return total_; }
  std::uint64_t pos() const { return pos_; }
  bool seek(std::uint64_t to) {
    if (to > total_) return false;
    pos_ = to;
    return true;
  }
  std::size_t read(char* out, std::size_t n) {
    std::size_t done = 0;
    std::uint64_t base = 0;
    for (const auto& s : segments_) {
      if (done == n) break;
      if (pos_ < base + s.len) {
        const std::uint64_t in = pos_ - base;
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(s.len - in, n - done));
        if (s.mem) {
          std::memcpy(out + done, s.mem + in, k);
        } else if (!read_file(s.file_off + in, s.file_off + s.len, out + done, k)) {
          return done;
        }
        done += k;
        pos_ += k;
      }
      base += s.len;
    }
    return done;
  }

 private:
  struct Segment {
    const char* mem;         // in memory, or
    std::uint64_t file_off;  // in the file when mem is null
    std::uint64_t len;
  };
  // Small reads (OpenJPH reads packet headers a few bytes at a time) come from a read-ahead
  // buffer of at most kAhead bytes, never past the end of the segment they are in.
  bool read_file(std::uint64_t off, std::uint64_t seg_end, char* out, std::size_t k) {
    if (off >= ahead_off_ && off + k <= ahead_off_ + ahead_.size()) {
      std::memcpy(out, ahead_.data() + (off - ahead_off_), k);
      return true;
    }
    if (k >= kAhead) return file_->read(off, out, k);
    ahead_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kAhead, seg_end - off)));
    if (!file_->read(off, ahead_.data(), ahead_.size())) {
      ahead_.clear();
      return false;
    }
    ahead_off_ = off;
    std::memcpy(out, ahead_.data(), k);
    return true;
  }
  static constexpr std::size_t kAhead = 4096;
  std::string ahead_;
  std::uint64_t ahead_off_ = 0;

  void add(Segment s) {
    segments_.push_back(s);
    total_ += s.len;
  }
  const File* file_;
  std::vector<Segment> segments_;
  std::deque<std::string> owned_;
  std::uint64_t total_ = 0, pos_ = 0;
};

}  // namespace sipi::source::jp2
