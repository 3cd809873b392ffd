// The derivative cache: encoded responses kept on disk, one file per derivative, under SIPI's
// settings (cache_dir, cache_size, cache_nfiles). A file is written under a temporary name and
// renamed, and carries its key, length and checksum, so a crash or a truncated file is never
// served. The index lives in memory and is rebuilt from the directory at startup, so the cache
// survives a restart. Least recently used entries are evicted down to 80 % of each limit.
//
// Several instances may share the directory (shared storage): an entry another instance wrote
// is found on disk when the index lacks it; a hit refreshes the file's modification time (at
// most once a minute), so that the files' times are the recency all instances share; and each
// instance re-reads the directory every `rescan` before evicting, so the limits hold for the
// directory as a whole, within that time. Temporary names carry host and process, and only
// temporary files older than an hour count as left by a crash.
//
// Admission: while the cache has room, everything is stored (as SIPI does). Once storing would
// push it past a limit, a derivative that was cheap to make (under kAlwaysStoreMs) is stored
// only if it missed before within the last `capacity` misses (a "doorkeeper"). A key that comes
// back less often than that would be evicted by LRU before its next request anyway, so storing
// it only costs a file creation and an eviction (0.3 ms each under load on ext4, where a scan
// larger than the cache turned every request into a create and an unlink). Expensive
// derivatives are stored at once: a file is a small price beside a second render.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/result.h"
#include "core/spooled.h"

namespace sipi::cache {

struct Limits {
  std::uint64_t max_bytes = 0;  // 0 = no byte limit (SIPI's cache_size = -1)
  std::uint64_t max_files = 0;  // 0 = no count limit
  // How often the directory is re-read (other instances' files), in the background; 0 = at
  // every write, in the writing thread (tests).
  std::chrono::seconds rescan{60};
};

struct Stats {
  std::uint64_t hits = 0, misses = 0, writes = 0, evictions = 0, skips = 0, corrupt = 0;
  std::uint64_t declined = 0;  // cheap, first-time derivatives not stored in a full cache
  std::uint64_t bytes = 0, files = 0;
};

class DerivativeCache {
 public:
  // Creates `dir` if missing, removes temporary files a crash left (older than an hour),
  // indexes what is there (oldest first) and evicts down to the limits. Errors: the directory
  // cannot be created or read.
  static Result<std::unique_ptr<DerivativeCache>> open(const std::filesystem::path& dir, Limits limits);
  ~DerivativeCache();  // waits for a re-read in progress

  // A hit: small bodies in memory, large ones (over kInMemory) as the open entry file, sent
  // from there (an eviction meanwhile does not disturb a reader).
  struct Hit {
    std::string bytes;
    std::shared_ptr<SpooledBody> file;
  };
  static constexpr std::uint64_t kInMemory = 8u << 20;
  // A derivative that took at least this long to make is always stored.
  static constexpr double kAlwaysStoreMs = 20.0;

  // The body stored under `key` (by this or another instance), or nothing on a miss. A file
  // that fails its checks (wrong length, checksum or key) is removed and counts as a miss.
  std::optional<Hit> lookup(const std::string& key);
  // The same, always in memory.
  std::optional<std::string> get(const std::string& key);
  // Stores `body` under `key`, which took `cost_ms` to make, if admitted (above); a body larger
  // than the byte limit is skipped. I/O errors are logged and swallowed: the cache is an
  // optimisation, never a reason to fail a request.
  void put(const std::string& key, const std::string& body, double cost_ms = kAlwaysStoreMs);
  // The same for `length` bytes at `offset` of file `fd` (a spool file), copied in the kernel.
  void put_file(const std::string& key, int fd, std::uint64_t offset, std::uint64_t length,
                double cost_ms = kAlwaysStoreMs);

  Stats stats() const;
  const Limits& limits() const { return limits_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Entry {
    std::uint64_t bytes;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  DerivativeCache(std::filesystem::path dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}
  // Re-reads the directory into the index, oldest file first. Errors: it cannot be read.
  Result<Ok> scan();
  // scan() and evict() when a write finds the last scan older than limits_.rescan.
  void rescan_if_due();
  void insert_locked(const std::string& name, std::uint64_t bytes);
  void erase_locked(const std::string& name);
  bool over_locked(double fraction) const;
  void evict();  // down to 80 % when a limit is exceeded
  // Whether an entry of this body would exceed the byte limit on its own.
  bool too_large(const std::string& key, std::uint64_t body_len) const;
  void skipped();  // counts a body not stored
  // Whether a derivative of `total` bytes that cost `cost_ms` is stored (the admission rule).
  bool admit(const std::string& name, std::uint64_t total, double cost_ms);
  void note_miss_locked(const std::string& name);
  std::size_t doorkeeper_capacity_locked() const;
  // put()'s work: the body comes from `write_body`, which writes it to the descriptor.
  template <class WriteBody>
  // `name` is file_name(key); the caller has checked too_large().
  void store(const std::string& key, const std::string& name, std::uint64_t body_len, std::uint64_t body_fnv,
             WriteBody write_body);

  std::filesystem::path dir_;
  Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;  // file name → entry
  std::list<std::string> lru_;
  Stats stats_;
  // The doorkeeper: the names of the last misses (oldest first) and how often each occurs there.
  std::deque<std::uint64_t> recent_misses_;
  std::unordered_map<std::uint64_t, std::uint32_t> miss_counts_;
  std::chrono::steady_clock::time_point scanned_{};
  std::mutex scan_mu_;  // guards scanner_
  std::thread scanner_;
  std::atomic<bool> scan_done_{true};
};

// SIPI's cache_size: "-1" = unlimited, "0" = disabled (nullopt), else a byte size ("200M").
// Returns false when the text is not a size.
bool parse_cache_size(const std::string& text, std::optional<std::uint64_t>& bytes);

}  // namespace sipi::cache
