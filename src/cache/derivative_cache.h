// The derivative cache: encoded responses kept on disk, one file per derivative, under SIPI's
// settings (cache_dir, cache_size, cache_nfiles). A file is written under a temporary name and
// renamed, and carries its key, length and checksum, so a crash or a truncated file is never
// served. The index lives in memory and is rebuilt from the directory at startup, so the cache
// survives a restart. Least recently used entries are evicted down to 80 % of each limit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/result.h"

namespace sipi::cache {

struct Limits {
  std::uint64_t max_bytes = 0;  // 0 = no byte limit (SIPI's cache_size = -1)
  std::uint64_t max_files = 0;  // 0 = no count limit
};

struct Stats {
  std::uint64_t hits = 0, misses = 0, writes = 0, evictions = 0, skips = 0, corrupt = 0;
  std::uint64_t bytes = 0, files = 0;
};

class DerivativeCache {
 public:
  // Creates `dir` if missing, removes leftover temporary files, indexes what is there (oldest
  // first) and evicts down to the limits. Errors: the directory cannot be created or read.
  static Result<std::unique_ptr<DerivativeCache>> open(const std::filesystem::path& dir, Limits limits);

  // The body stored under `key`, or nothing on a miss. A file that fails its checks (wrong
  // length, checksum or key) is removed and counts as a miss.
  std::optional<std::string> get(const std::string& key);
  // Stores `body` under `key`; a body larger than the byte limit is skipped. I/O errors are
  // logged and swallowed: the cache is an optimisation, never a reason to fail a request.
  void put(const std::string& key, const std::string& body);

  Stats stats() const;
  const Limits& limits() const { return limits_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Entry {
    std::uint64_t bytes;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  DerivativeCache(std::filesystem::path dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}
  void insert_locked(const std::string& name, std::uint64_t bytes);
  void erase_locked(const std::string& name);
  bool over_locked(double fraction) const;
  void evict();  // down to 80 % when a limit is exceeded

  std::filesystem::path dir_;
  Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;  // file name → entry
  std::list<std::string> lru_;
  Stats stats_;
};

// SIPI's cache_size: "-1" = unlimited, "0" = disabled (nullopt), else a byte size ("200M").
// Returns false when the text is not a size.
bool parse_cache_size(const std::string& text, std::optional<std::uint64_t>& bytes);

}  // namespace sipi::cache
