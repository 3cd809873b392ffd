// Decode helpers: the server's untrusted decoding (headers, pixels) runs in a few processes of
// the sipi binary itself (spawned, never forked from the threaded server), one job at a time
// each. A helper that dies — an assert in a codec library, a segfault, a memory or CPU limit —
// costs the one request it was serving: the caller gets 500 codec.crashed, the file is
// remembered as poisoned, and the next job on that slot starts a fresh helper.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "isolation/channel.h"
#include "isolation/poison.h"

namespace sipi::isolation {

struct PoolSettings {
  std::size_t helpers = 2;
  std::uint64_t address_space = 0;  // RLIMIT_AS per helper, 0 = none
  unsigned cpu_seconds = 120;       // CPU time one job may use
  std::filesystem::path scratch;    // the helpers' only writable directory (made and removed here)
  std::filesystem::path executable = "/proc/self/exe";
};

// What a helper answers: small fields, and the bulk result (encoded image, pixels, tables).
struct Answer {
  nlohmann::json meta;
  std::string payload;
};

// What a job gains from the helper that served its file last: its header, or also decoded
// pixels (JPEG 2000's decoded-tile cache), worth waiting a little for when that helper is busy.
enum class Affinity { header, pixels };

class Pool {
 public:
  // Spawns every helper now, so the first requests find them warm. Errors: the scratch
  // directory or a helper cannot be made.
  static Result<std::shared_ptr<Pool>> start(PoolSettings s);
  ~Pool();  // stops the helpers, removes the scratch directory
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `job` ({"op": …, …}) in a free helper, waiting for one. `file` is the untrusted file
  // the job reads. Errors: 500 codec.crashed (the helper died on it, now or earlier: poisoned),
  // 500 codec.unavailable (no helper could start), and the job's own errors.
  Result<Answer> call(const nlohmann::json& job, const FileKey& file);
  // The same for a binary job (channel.h): `body` is the op's own encoding; `pass`, when not -1,
  // is a descriptor the helper gets with the job (the render's spool file).
  Result<Answer> call(std::string_view op, std::string_view body, const FileKey& file, Affinity affinity = Affinity::header,
                      int pass = -1);

  bool poisoned(const FileKey& file);
  // Prometheus lines: crashes by reason, poisoned files, helper starts.
  std::string metrics_text() const;

 private:
  struct Helper {
    pid_t pid = -1;
    int sock = -1, err = -1;
    std::optional<PayloadArea> area;
    bool busy = false;
    std::chrono::steady_clock::time_point since{};  // when its current job was handed out
    std::string file;                                // and for which file
    bool ready = false;  // said hello after locking down
    unsigned jobs = 0;   // since its stderr was last drained
  };
  explicit Pool(PoolSettings s) : s_(std::move(s)) {}
  bool spawn(Helper& h);
  Result<Answer> exchange(const std::string& msg, std::string_view op, const FileKey& file, Affinity affinity, int pass = -1);
  // Sends `msg` to helper `h` (starting it, or a replacement, as needed) and waits for the
  // reply: nothing when the helper died or timed out on the job (timed_out says which).
  // Errors: 500 codec.unavailable (no helper could take the job).
  Result<std::optional<std::string>> send_and_receive(Helper& h, const std::string& msg, int pass, bool& timed_out);
  // Reaps a helper that stopped answering; returns the reason for the log and metrics.
  std::string bury(Helper& h, bool timed_out);
  std::string stderr_tail(Helper& h);
  // A free helper for a job on `file`, preferring the one that served it last, so that its
  // header, JPEG 2000 tile index and decoded tiles are made once, not once per helper; for
  // Affinity::pixels waiting a little for it while it serves another file on a short job.
  std::size_t acquire(const std::string& file, Affinity affinity);
  std::size_t take(std::size_t i, const std::string& file);  // marks helper i busy with `file`; mu_ held
  void release(std::size_t i);

  PoolSettings s_;
  std::vector<Helper> helpers_;
  std::mutex mu_;
  std::condition_variable free_;
  std::unordered_map<std::string, std::size_t> last_helper_;  // file → the helper that served it last
  PoisonList poison_;
  mutable std::mutex stats_mu_;
  std::map<std::string, std::uint64_t> crashes_;  // by reason
  std::uint64_t starts_ = 0, poison_hits_ = 0;
};

// The pool of this process, for code that has no service context (Lua's SipiImage); null
// when decoding is not isolated.
std::shared_ptr<Pool> shared_pool();
void set_shared_pool(std::shared_ptr<Pool> p);

}  // namespace sipi::isolation
