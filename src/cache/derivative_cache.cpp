#include "cache/derivative_cache.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/fd_io.h"
#include "core/form.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/temp_file.h"

namespace sipi::cache {
namespace fs = std::filesystem;
namespace {

// File layout: header, key, body. The header's length and checksum let a reader reject a
// file that a crash, a full disk or an operator truncated.
constexpr char kMagic[8] = {'S', 'I', 'P', 'I', 'D', 'C', '1', '\n'};
struct Header {
  char magic[8];
  std::uint64_t key_len;
  std::uint64_t body_len;
  std::uint64_t body_fnv;
};
static_assert(sizeof(Header) == 32);

// SHA-256 of the key, hex: a fixed-length file name that no key can steer.
std::string file_name(const std::string& key) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

bool is_entry_name(const std::string& n) {
  return n.size() == 64 && std::all_of(n.begin(), n.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A temporary file older than this was left by a crash, not by another instance still writing.
constexpr std::int64_t kStaleTemporary = 3600LL * 1000000000;
// A hit refreshes the file's time when it is older than this: the recency instances share.
constexpr std::int64_t kTouchAfter = 60LL * 1000000000;

std::int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

enum class Read { ok, absent, damaged };

// FNV-1a of `length` bytes at `offset` of `fd`, read a piece at a time; false on a short read.
bool fnv_of_file(int fd, std::uint64_t offset, std::uint64_t length, std::uint64_t& h) {
  std::string buf(std::min<std::uint64_t>(length, 1u << 20), '\0');
  h = kFnvStart;
  while (length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size()));
    if (!read_at(fd, buf.data(), want, offset)) return false;
    h = fnv1a(std::string_view(buf.data(), want), h);
    offset += want;
    length -= want;
  }
  return true;
}

// The body of entry file `path` if it is whole and holds `key`: in memory up to kInMemory
// bytes, else the open file itself (checked piece by piece, never held whole).
Read read_entry(const fs::path& path, const std::string& key, DerivativeCache::Hit& hit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Read::absent;
  auto file = std::make_shared<SpooledBody>(fd);  // closed on every way out, unless handed on
  struct stat st {};
  Header h{};
  bool ok = ::fstat(fd, &st) == 0 && read_exact(fd, &h, sizeof h) &&
            std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.key_len == key.size() &&
            static_cast<std::uint64_t>(st.st_size) == sizeof h + h.key_len + h.body_len;
  if (ok) {
    std::string stored_key(h.key_len, '\0');
    ok = read_exact(fd, stored_key.data(), stored_key.size()) && stored_key == key;
  }
  if (ok && h.body_len <= DerivativeCache::kInMemory) {
    hit.bytes.resize(h.body_len);
    ok = read_exact(fd, hit.bytes.data(), hit.bytes.size()) && fnv1a(hit.bytes) == h.body_fnv;
  } else if (ok) {
    std::uint64_t sum = 0;
    file->offset = sizeof h + h.key_len;
    file->length = h.body_len;
    ok = fnv_of_file(fd, file->offset, file->length, sum) && sum == h.body_fnv;
    if (ok) hit.file = file;
  }
  if (!ok) return Read::damaged;
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (mtime_ns < now_ns() - kTouchAfter) ::futimens(fd, nullptr);  // best effort
  return Read::ok;
}

// Copies `length` bytes at `offset` of `from` to the end of `to`, in the kernel where it can.
bool copy_range(int from, std::uint64_t offset, std::uint64_t length, int to) {
  loff_t in = static_cast<loff_t>(offset);
  while (length > 0) {
    ssize_t n = ::copy_file_range(from, &in, to, nullptr, static_cast<std::size_t>(std::min<std::uint64_t>(length, 1u << 30)), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) break;
    if (n <= 0) return false;
    length -= static_cast<std::uint64_t>(n);
  }
  // Across filesystems (the spool in /tmp, the cache elsewhere on old kernels): piece by piece.
  std::string buf(std::min<std::uint64_t>(length, 1u << 20), '\0');
  while (length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size()));
    if (!read_at(from, buf.data(), want, static_cast<std::uint64_t>(in)) || !write_all(to, buf.data(), want)) return false;
    in += static_cast<loff_t>(want);
    length -= want;
  }
  return true;
}

}  // namespace

bool parse_cache_size(const std::string& text, std::optional<std::uint64_t>& bytes) {
  if (text == "-1") {
    bytes = 0;  // unlimited
    return true;
  }
  std::uint64_t n = 0;
  if (!parse_byte_size(text, n)) return false;
  bytes = n == 0 ? std::nullopt : std::optional<std::uint64_t>(n);
  return true;
}

Result<std::unique_ptr<DerivativeCache>> DerivativeCache::open(const fs::path& dir, Limits limits) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::internal("cache.dir", dir.string() + ": " + ec.message());
  std::unique_ptr<DerivativeCache> c(new DerivativeCache(dir, limits));
  if (auto r = c->scan(); !r) return r.error();
  c->evict();
  return c;
}

Result<Ok> DerivativeCache::scan() {
  struct Found {
    std::string name;
    std::uint64_t bytes;
    std::int64_t mtime_ns;
  };
  std::vector<Found> found;
  const std::int64_t stale_before = now_ns() - kStaleTemporary;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
    const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (name.rfind(".tmp-", 0) == 0) {
      // Another instance's write in progress, unless so old that a crash left it.
      if (mtime_ns < stale_before) ::unlink(it->path().c_str());
      continue;
    }
    if (!is_entry_name(name) || !S_ISREG(st.st_mode)) continue;
    found.push_back({name, static_cast<std::uint64_t>(st.st_size), mtime_ns});
  }
  if (ec) return Error::internal("cache.dir", dir_.string() + ": " + ec.message());
  // Oldest first, so that the most recently written or used ends up most recently used.
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime_ns < b.mtime_ns; });
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
  stats_.bytes = stats_.files = 0;
  for (const auto& f : found) insert_locked(f.name, f.bytes);
  scanned_ = std::chrono::steady_clock::now();
  return Ok{};
}

void DerivativeCache::insert_locked(const std::string& name, std::uint64_t bytes) {
  erase_locked(name);
  lru_.push_front(name);
  index_.emplace(name, Entry{bytes, lru_.begin()});
  stats_.bytes += bytes;
  stats_.files += 1;
}

void DerivativeCache::erase_locked(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  stats_.bytes -= it->second.bytes;
  stats_.files -= 1;
  lru_.erase(it->second.lru);
  index_.erase(it);
}

bool DerivativeCache::over_locked(double fraction) const {
  return (limits_.max_bytes > 0 && stats_.bytes > limits_.max_bytes * fraction) ||
         (limits_.max_files > 0 && stats_.files > limits_.max_files * fraction);
}

void DerivativeCache::evict() {
  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    if (!over_locked(1.0)) return;
    while (!lru_.empty() && over_locked(0.8)) {
      std::string name = lru_.back();
      erase_locked(name);
      victims.push_back(std::move(name));
      stats_.evictions += 1;
    }
  }
  // Unlinking outside the lock; a reader that has the file open keeps reading it.
  for (const auto& v : victims) ::unlink((dir_ / v).c_str());
}

std::optional<DerivativeCache::Hit> DerivativeCache::lookup(const std::string& key) {
  const std::string name = file_name(key);
  bool indexed;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(name);
    indexed = it != index_.end();
    if (indexed) lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  // Not indexed: another instance sharing the directory may have written it.
  const fs::path path = dir_ / name;
  Hit hit;
  const Read r = read_entry(path, key, hit);
  std::lock_guard lock(mu_);
  if (r != Read::ok) {
    // Gone (evicted meanwhile, or never written) or damaged: either way not served, and not kept.
    if (r == Read::damaged) {
      log::warning("derivative cache: damaged entry removed", {{"file", path.string()}});
      stats_.corrupt += 1;
      ::unlink(path.c_str());
    }
    erase_locked(name);
    stats_.misses += 1;
    note_miss_locked(name);
    return std::nullopt;
  }
  const std::uint64_t body_len = hit.file ? hit.file->length : hit.bytes.size();
  if (!indexed) insert_locked(name, sizeof(Header) + key.size() + body_len);
  stats_.hits += 1;
  return hit;
}

std::optional<std::string> DerivativeCache::get(const std::string& key) {
  auto hit = lookup(key);
  if (!hit) return std::nullopt;
  if (!hit->file) return std::move(hit->bytes);
  std::string body(hit->file->length, '\0');
  if (!read_at(hit->file->fd, body.data(), body.size(), hit->file->offset)) return std::nullopt;
  return body;
}

void DerivativeCache::put(const std::string& key, const std::string& body, double cost_ms) {
  if (too_large(key, body.size())) return skipped();
  const std::string name = file_name(key);
  if (!admit(name, sizeof(Header) + key.size() + body.size(), cost_ms)) return;
  store(key, name, body.size(), fnv1a(body), [&](int fd) { return write_all(fd, body.data(), body.size()); });
}

void DerivativeCache::put_file(const std::string& key, int fd, std::uint64_t offset, std::uint64_t length,
                               double cost_ms) {
  // Checked before the checksum, which reads the whole file.
  if (too_large(key, length)) return skipped();
  const std::string name = file_name(key);
  if (!admit(name, sizeof(Header) + key.size() + length, cost_ms)) return;
  std::uint64_t sum = 0;
  if (!fnv_of_file(fd, offset, length, sum)) {
    log::warning("derivative cache: spool file unreadable", {{"error", std::strerror(errno)}});
    return skipped();
  }
  store(key, name, length, sum, [&](int to) { return copy_range(fd, offset, length, to); });
}

template <class WriteBody>
void DerivativeCache::store(const std::string& key, const std::string& name, std::uint64_t body_len,
                            std::uint64_t body_fnv, WriteBody write_body) {
  const std::uint64_t total = sizeof(Header) + key.size() + body_len;
  static std::atomic<std::uint64_t> seq{0};
  const fs::path tmp =
      dir_ / (".tmp-" + name + "-" + host_tag() + "-" + std::to_string(::getpid()) + "-" + std::to_string(seq++));
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.key_len = key.size();
  h.body_len = body_len;
  h.body_fnv = body_fnv;
  bool ok;
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    ok = f.fd >= 0 && write_all(f.fd, &h, sizeof h) && write_all(f.fd, key.data(), key.size()) && write_body(f.fd);
    if (f.fd >= 0 && ::close(f.fd) != 0) ok = false;
    f.fd = -1;
  }
  if (!ok || ::rename(tmp.c_str(), (dir_ / name).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    log::warning("derivative cache: write failed", {{"file", tmp.string()}, {"error", std::strerror(err)}});
    return skipped();
  }
  rescan_if_due();
  {
    // After a scan: the newest entry, whatever the resolution of the files' times.
    std::lock_guard lock(mu_);
    insert_locked(name, total);
    stats_.writes += 1;
  }
  evict();
}

void DerivativeCache::rescan_if_due() {
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - scanned_ < limits_.rescan) return;
    scanned_ = now;  // this thread's to start
  }
  // What the other instances wrote counts against the limits too. An unreadable directory
  // leaves the index as it was. Listing a large directory takes a while (0.25 s per 100 000
  // files): not in a request's time.
  if (limits_.rescan.count() == 0) {
    (void)scan();
    return;
  }
  std::lock_guard lock(scan_mu_);
  if (!scan_done_) return;  // the last one still runs
  if (scanner_.joinable()) scanner_.join();
  scan_done_ = false;
  scanner_ = std::thread([this] {
    (void)scan();
    evict();
    scan_done_ = true;
  });
}

DerivativeCache::~DerivativeCache() {
  std::lock_guard lock(scan_mu_);
  if (scanner_.joinable()) scanner_.join();
}

bool DerivativeCache::too_large(const std::string& key, std::uint64_t body_len) const {
  return limits_.max_bytes > 0 && sizeof(Header) + key.size() + body_len > limits_.max_bytes;
}

std::size_t DerivativeCache::doorkeeper_capacity_locked() const {
  // As many misses as the cache holds entries: a key asked again within that many would still
  // be there under LRU; one asked again later would have been evicted first.
  std::uint64_t cap = limits_.max_files;
  if (limits_.max_bytes > 0) {
    const std::uint64_t mean = stats_.files > 0 ? std::max<std::uint64_t>(stats_.bytes / stats_.files, 1024) : 64 * 1024;
    const std::uint64_t by_bytes = limits_.max_bytes / mean;
    cap = cap == 0 ? by_bytes : std::min(cap, by_bytes);
  }
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(cap, 16, 1u << 18));  // ≤ 10 MB of bookkeeping
}

void DerivativeCache::note_miss_locked(const std::string& name) {
  const std::uint64_t h = std::hash<std::string>{}(name);
  recent_misses_.push_back(h);
  miss_counts_[h] += 1;
  const std::size_t cap = doorkeeper_capacity_locked();
  while (recent_misses_.size() > cap) {
    auto it = miss_counts_.find(recent_misses_.front());
    if (it != miss_counts_.end() && --it->second == 0) miss_counts_.erase(it);
    recent_misses_.pop_front();
  }
}

bool DerivativeCache::admit(const std::string& name, std::uint64_t total, double cost_ms) {
  if (cost_ms >= kAlwaysStoreMs) return true;
  std::lock_guard lock(mu_);
  const bool room = !((limits_.max_files > 0 && stats_.files + 1 > limits_.max_files) ||
                      (limits_.max_bytes > 0 && stats_.bytes + total > limits_.max_bytes));
  if (room) return true;
  auto it = miss_counts_.find(std::hash<std::string>{}(name));
  if (it != miss_counts_.end() && it->second >= 2) return true;  // this miss and an earlier one
  stats_.declined += 1;
  return false;
}

void DerivativeCache::skipped() {
  std::lock_guard lock(mu_);
  stats_.skips += 1;
}

Stats DerivativeCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace sipi::cache
