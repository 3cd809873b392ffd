// Files whose decoding killed a helper. A repeated request for one answers at once instead of
// killing helper after helper; keyed by path, modification time and size, so a replaced file
// gets a new chance. Bounded (oldest forgotten first) and entries expire, so that a crash
// caused by something other than the file (a limit hit under load) does not last.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sipi::isolation {

struct FileKey {
  std::string path;
  std::int64_t mtime_ns = 0;
  std::int64_t bytes = 0;
  std::string str() const { return path + '\0' + std::to_string(mtime_ns) + '\0' + std::to_string(bytes); }
};

class PoisonList {
 public:
  explicit PoisonList(std::size_t capacity = 4096, std::chrono::seconds ttl = std::chrono::hours(1))
      : capacity_(capacity), ttl_(ttl) {}

  void add(const FileKey& k);
  bool contains(const FileKey& k);
  std::size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::size_t capacity_;
  std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  struct Entry {
    Clock::time_point when;
    std::uint64_t serial;
  };
  std::unordered_map<std::string, Entry> added_;
  std::deque<std::pair<std::string, std::uint64_t>> order_;  // oldest first; stale serials skipped
  std::uint64_t serial_ = 0;
};

}  // namespace sipi::isolation
