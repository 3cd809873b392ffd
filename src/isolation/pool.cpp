#include "isolation/pool.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/environment.h"
#include "core/log.h"
#include "isolation/channel.h"

namespace sipi::isolation {
namespace {

std::shared_ptr<Pool> g_pool;
std::mutex g_pool_mu;

// Above the descriptors posix_spawn maps to 0-4, so that no mapping clobbers another's source.
int high_fd(int fd) {
  if (fd < 0) return fd;
  int h = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return h;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string signal_reason(int sig) {
  switch (sig) {
    case SIGABRT: return "abort";
    case SIGSEGV: return "segv";
    case SIGBUS: return "bus";
    case SIGFPE: return "fpe";
    case SIGILL: return "ill";
    case SIGXCPU: return "cpu_limit";
    case SIGKILL: return "killed";
    default: return "signal";
  }
}

constexpr auto kHelloTimeout = std::chrono::seconds(30);
// How long a job waits for the helper its file prefers before taking another (acquire).
constexpr auto kAffinityPatience = std::chrono::milliseconds(50);
// How many files the pool remembers the last helper of (a path and an index each).
constexpr std::size_t kAffinityFiles = 16384;

// A helper's reply: an error it reported, or the metadata and the payload it left in `area`.
Result<Answer> read_answer(const std::string& m, std::optional<PayloadArea>& area) {
  if (!m.empty() && m[0] == kAnswerError) {
    nlohmann::json a = nlohmann::json::parse(m.begin() + 1, m.end(), nullptr, false);
    if (!a.is_object()) return Error::internal("codec.helper", "unreadable answer from a decode helper");
    int status = a.value("status", 500);
    if (status < 400 || status > 599) status = 500;  // a helper's word is not trusted further
    return Error{static_cast<Status>(status), a.value("detail", std::string("codec.decode")),
                 a.value("message", std::string())};
  }
  std::uint64_t n = 0;
  if (m.size() < 1 + sizeof n || m[0] != kAnswerOk) return Error::internal("codec.helper", "unreadable answer from a decode helper");
  std::memcpy(&n, m.data() + 1, sizeof n);
  Answer out;
  if (m.size() > 1 + sizeof n) {
    out.meta = nlohmann::json::parse(m.begin() + 1 + sizeof n, m.end(), nullptr, false);
    if (!out.meta.is_object()) return Error::internal("codec.helper", "unreadable answer from a decode helper");
  } else {
    out.meta = nlohmann::json::object();
  }
  if (n > 0) {
    auto p = area ? area->read(n) : std::nullopt;
    if (!p) return Error::internal("codec.helper", "cannot read a decode helper's result");
    out.payload = std::move(*p);
  }
  return out;
}

}  // namespace

std::shared_ptr<Pool> shared_pool() {
  std::lock_guard lock(g_pool_mu);
  return g_pool;
}

void set_shared_pool(std::shared_ptr<Pool> p) {
  std::lock_guard lock(g_pool_mu);
  g_pool = std::move(p);
}

Result<std::shared_ptr<Pool>> Pool::start(PoolSettings s) {
  std::error_code ec;
  std::filesystem::create_directories(s.scratch, ec);
  if (ec) return Error::internal("isolation.scratch", s.scratch.string() + ": " + ec.message());
  std::filesystem::permissions(s.scratch, std::filesystem::perms::owner_all, ec);
  std::shared_ptr<Pool> pool(new Pool(std::move(s)));
  pool->helpers_.resize(std::max<std::size_t>(pool->s_.helpers, 1));
  for (auto& h : pool->helpers_) {
    if (!pool->spawn(h)) return Error::internal("isolation.spawn", "cannot start a decode helper: " + std::string(std::strerror(errno)));
  }
  return pool;
}

Pool::~Pool() {
  for (auto& h : helpers_) {
    if (h.pid > 0) {
      ::kill(h.pid, SIGKILL);
      ::waitpid(h.pid, nullptr, 0);
    }
    close_fd(h.sock);
    h.area.reset();
    close_fd(h.err);
  }
  std::error_code ec;
  std::filesystem::remove_all(s_.scratch, ec);
}

bool Pool::spawn(Helper& h) {
  int sv[2], ep[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return false;
  if (::pipe2(ep, O_CLOEXEC) != 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return false;
  }
  int child_sock = high_fd(sv[1]), child_err = high_fd(ep[1]);
  h.sock = high_fd(sv[0]);
  h.err = high_fd(ep[0]);
  h.area = PayloadArea::create();
  if (!h.area) {
    close_fd(h.sock);
    close_fd(h.err);
    ::close(child_sock);
    ::close(child_err);
    return false;
  }
  // The job timeout is the socket's: a reply is one recv, with no poll before it.
  const auto job_timeout = static_cast<time_t>(2 * s_.cpu_seconds + 10);
  timeval tv{job_timeout, 0};
  ::setsockopt(h.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The helper's stderr must never block it: what does not fit the pipe is dropped.
  ::fcntl(child_err, F_SETFL, ::fcntl(child_err, F_GETFL) | O_NONBLOCK);
  ::fcntl(h.err, F_SETFL, ::fcntl(h.err, F_GETFL) | O_NONBLOCK);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, child_err, 1);
  posix_spawn_file_actions_adddup2(&fa, child_err, 2);
  posix_spawn_file_actions_adddup2(&fa, child_sock, 3);
  posix_spawn_file_actions_adddup2(&fa, h.area->fd(), 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
  const std::string as = std::to_string(s_.address_space), cpu = std::to_string(s_.cpu_seconds),
                    parent = std::to_string(::getpid()), scratch = s_.scratch.string();
  const char* argv[] = {"sipi", "decode-helper", as.c_str(), cpu.c_str(), scratch.c_str(), parent.c_str(), nullptr};
  // The helpers' temporary files (libvips spills large random-access images to disc) go to
  // the scratch directory, the one place they may write.
  ChildEnvironment env("TMPDIR", scratch);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, s_.executable.c_str(), &fa, nullptr, const_cast<char**>(argv), env.envp());
  posix_spawn_file_actions_destroy(&fa);
  ::close(child_sock);
  ::close(child_err);
  if (rc != 0) {
    errno = rc;
    close_fd(h.sock);
    h.area.reset();
    close_fd(h.err);
    return false;
  }
  h.pid = pid;
  h.ready = false;
  h.jobs = 0;
  std::lock_guard lock(stats_mu_);
  ++starts_;
  return true;
}

std::string Pool::stderr_tail(Helper& h) {
  std::string all;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(h.err, buf, sizeof buf);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
    if (all.size() > 16384) all.erase(0, all.size() - 4096);
  }
  if (all.size() > 1024) all.erase(0, all.size() - 1024);
  return all;
}

std::string Pool::bury(Helper& h, bool timed_out) {
  std::string reason = timed_out ? "timeout" : "exit";
  if (h.pid > 0) {
    int st = 0;
    if (timed_out) ::kill(h.pid, SIGKILL);
    // After EOF the process is gone or going; a helper that closed its socket but lives on is
    // killed rather than waited for.
    pid_t r = ::waitpid(h.pid, &st, timed_out ? 0 : WNOHANG);
    bool ours = timed_out;  // a SIGKILL we sent is not "killed" from outside (exchange retries those)
    if (r == 0) {
      ::usleep(20000);
      r = ::waitpid(h.pid, &st, WNOHANG);
      if (r == 0) {
        ::kill(h.pid, SIGKILL);
        ours = true;
        r = ::waitpid(h.pid, &st, 0);
      }
    }
    if (r > 0 && !timed_out) reason = WIFSIGNALED(st) && !ours ? signal_reason(WTERMSIG(st)) : "exit";
  }
  h.pid = -1;
  close_fd(h.sock);
  h.area.reset();
  // h.err is closed by the caller after reading the tail.
  return reason;
}

std::size_t Pool::acquire(const std::string& file, Affinity affinity) {
  std::unique_lock lock(mu_);
  // The helper that served this file last holds its header, tile index and decoded tiles: a job
  // sent elsewhere makes them again (a 256²-tiled HTJ2K thumbnail: 25 ms instead of 1.5 ms).
  // So a job that would decode again waits a little for that helper while it serves another
  // file on a short job; a header is cheaper to read than to wait for (TIFF thumbnails lost a
  // fifth of their rate that way). Busy with this very file, it is a hot file: spreading it
  // over the helpers is worth a copy.
  const auto last = last_helper_.find(file);
  const std::size_t home = std::hash<std::string>{}(file) % helpers_.size();
  const std::size_t first = last != last_helper_.end() ? last->second : home;
  const Helper& pref = helpers_[first];
  if (affinity == Affinity::pixels && last != last_helper_.end() && pref.busy && pref.file != file) {
    free_.wait_until(lock, pref.since + kAffinityPatience, [&] { return !pref.busy; });
  }
  for (;;) {
    if (!helpers_[first].busy) return take(first, file);
    // Else the first free one from the file's home on: a hot file keeps to as few helpers as
    // the jobs running at once need (each helper that serves it keeps a peak of its memory).
    for (std::size_t k = 0; k < helpers_.size(); ++k) {
      std::size_t i = (home + k) % helpers_.size();
      if (!helpers_[i].busy) return take(i, file);
    }
    free_.wait(lock);
  }
}

std::size_t Pool::take(std::size_t i, const std::string& file) {
  helpers_[i].busy = true;
  helpers_[i].since = std::chrono::steady_clock::now();
  helpers_[i].file = file;
  if (last_helper_.size() >= kAffinityFiles) last_helper_.clear();  // cheaper than an LRU, rarely
  last_helper_[file] = i;
  return i;
}

void Pool::release(std::size_t i) {
  {
    std::lock_guard lock(mu_);
    helpers_[i].busy = false;
  }
  free_.notify_all();  // waiters wait for different helpers (acquire)
}

bool Pool::poisoned(const FileKey& file) {
  if (!poison_.contains(file)) return false;
  std::lock_guard lock(stats_mu_);
  ++poison_hits_;
  return true;
}

Result<Answer> Pool::call(const nlohmann::json& job, const FileKey& file) {
  return exchange(job.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), job.value("op", ""), file, Affinity::header);
}

Result<Answer> Pool::call(std::string_view op, std::string_view body, const FileKey& file, Affinity affinity, int pass) {
  std::string msg;
  msg.reserve(op.size() + body.size() + 2);
  msg += kBinaryJob;
  msg += op;
  msg += '\0';
  msg += body;
  return exchange(msg, op, file, affinity, pass);
}

Result<Answer> Pool::exchange(const std::string& msg, std::string_view op, const FileKey& file, Affinity affinity, int pass) {
  if (poisoned(file)) {
    return Error::internal("codec.crashed", file.path + ": poisoned (an earlier decode crashed)");
  }
  std::size_t slot = acquire(file.path, affinity);
  Helper& h = helpers_[slot];  // ours until release()
  struct Release {
    Pool* p;
    std::size_t i;
    ~Release() { p->release(i); }
  } release_on_exit{this, slot};

  // A helper killed with SIGKILL from outside (the OOM killer, an operator) may have died before
  // the job reached it, even with the job sent: the socket took it. That is not the file's
  // fault, so such a job runs once more on a new helper, and only a second death blames the file.
  for (int run = 0;; ++run) {
    bool timed_out = false;
    auto reply = send_and_receive(h, msg, pass, timed_out);
    if (!reply) return reply.error();
    if (*reply) return read_answer(**reply, h.area);
    std::string reason = bury(h, timed_out);
    std::string tail = stderr_tail(h);
    close_fd(h.err);
    {
      std::lock_guard lock(stats_mu_);
      ++crashes_[reason];
    }
    // Once, and a spooled render starts again on an empty spool file.
    if (reason == "killed" && run == 0 && (pass < 0 || (::ftruncate(pass, 0) == 0 && ::lseek(pass, 0, SEEK_SET) == 0))) {
      log::warning("decode helper killed; its job runs again on a new helper",
                   {{"op", std::string(op)}, {"path", file.path}, {"stderr", tail}});
      continue;  // send_and_receive starts the new helper
    }
    poison_.add(file);
    log::error("decode helper crashed", {{"reason", reason}, {"op", std::string(op)}, {"path", file.path},
                                         {"stderr", tail}});
    // Replaced now, so that the pool stays warm (a failed start is retried on the next job).
    (void)spawn(h);
    return Error::internal("codec.crashed", file.path + ": decode helper died (" + reason + ")");
  }
}

Result<std::optional<std::string>> Pool::send_and_receive(Helper& h, const std::string& msg, int pass, bool& timed_out) {
  // A helper that is not running, or that died while idle (the job cannot be sent), is
  // (re)started; that is not the file's fault, so nothing is poisoned. Two tries.
  // A helper that died before its hello (killed, or a failed start) is treated the same way:
  // replaced, and the job tried on the replacement.
  bool sent = false;
  std::string failure = "no decode helper takes jobs";
  for (int attempt = 0; attempt < 2 && !sent; ++attempt) {
    if (h.pid <= 0 && !spawn(h)) return Error::internal("codec.unavailable", "cannot start a decode helper");
    if (!h.ready) {
      // The hello says the helper started and locked itself down.
      auto hello = receive_message(h.sock, kHelloTimeout, timed_out);
      if (!hello || *hello != "ready") {
        std::string reason = bury(h, timed_out), tail = stderr_tail(h);
        close_fd(h.err);
        log::error("decode helper did not start", {{"reason", reason}, {"stderr", tail}});
        failure = "decode helper did not start: " + reason;
        timed_out = false;
        continue;
      }
      h.ready = true;
    }
    // Drop what earlier jobs printed now and then (a read per job showed in tile costs), often
    // enough that the pipe never fills and the last words of a crash still fit.
    if (++h.jobs % 16 == 0) (void)stderr_tail(h);
    sent = send_message(h.sock, msg, pass);
    if (!sent) {
      std::string reason = bury(h, false), tail = stderr_tail(h);
      close_fd(h.err);
      log::warning("decode helper died while idle", {{"reason", reason}, {"stderr", tail}});
    }
  }
  if (!sent) return Error::internal("codec.unavailable", failure);
  return receive_message(h.sock, timed_out);
}

std::string Pool::metrics_text() const {
  std::lock_guard lock(stats_mu_);
  std::string out =
      "# HELP sipi_decode_helper_crashes_total Decode helpers that died on a job, by reason.\n"
      "# TYPE sipi_decode_helper_crashes_total counter\n";
  for (const char* r : {"abort", "segv", "bus", "fpe", "ill", "cpu_limit", "killed", "signal", "timeout", "exit"}) {
    auto it = crashes_.find(r);
    out += "sipi_decode_helper_crashes_total{reason=\"" + std::string(r) + "\"} " +
           std::to_string(it == crashes_.end() ? 0 : it->second) + "\n";
  }
  out += "# HELP sipi_decode_helper_starts_total Decode helpers started (at startup and after crashes).\n"
         "# TYPE sipi_decode_helper_starts_total counter\n"
         "sipi_decode_helper_starts_total " + std::to_string(starts_) + "\n"
         "# HELP sipi_decode_poisoned_files Files remembered as crashing a decode helper.\n"
         "# TYPE sipi_decode_poisoned_files gauge\n"
         "sipi_decode_poisoned_files " + std::to_string(poison_.size()) + "\n"
         "# HELP sipi_decode_poisoned_rejections_total Requests answered at once because their file is poisoned.\n"
         "# TYPE sipi_decode_poisoned_rejections_total counter\n"
         "sipi_decode_poisoned_rejections_total " + std::to_string(poison_hits_) + "\n";
  return out;
}

}  // namespace sipi::isolation
