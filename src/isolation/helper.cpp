#include "isolation/helper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>

#include "core/log.h"
#include "isolation/channel.h"
#include "isolation/lockdown.h"

namespace sipi::isolation {
namespace {

constexpr int kSocket = 3, kMemfd = 4;

std::string error_message(const Error& e) {
  nlohmann::json a;
  a["status"] = static_cast<int>(e.status);
  a["detail"] = e.detail;
  a["message"] = e.message;
  return kAnswerError + a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ok_message(std::uint64_t payload, const nlohmann::json& meta) {
  std::string out(1, kAnswerOk);
  out.append(reinterpret_cast<const char*>(&payload), sizeof payload);
  if (meta.is_object() && !meta.empty()) out += meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

// The job's handler, bound to its message: nothing when the op is unknown or the JSON broken.
std::function<Result<Answer>()> handler_for(const std::string& msg, const Handlers& handlers, int passed) {
  if (!msg.empty() && msg[0] == kBinaryJob) {
    const std::size_t end = msg.find('\0', 1);
    if (end == std::string::npos) return {};
    auto it = handlers.binary.find(std::string_view(msg).substr(1, end - 1));
    if (it == handlers.binary.end()) return {};
    return [&msg, end, passed, &h = it->second] { return h(std::string_view(msg).substr(end + 1), passed); };
  }
  auto job = std::make_shared<nlohmann::json>(nlohmann::json::parse(msg, nullptr, false));
  auto it = job->is_object() ? handlers.json.find(job->value("op", "")) : handlers.json.end();
  if (it == handlers.json.end()) return {};
  return [job, &h = it->second] { return h(*job); };
}

}  // namespace

int run_helper(int argc, char** argv, const Handlers& handlers) {
  if (argc < 6) return 2;
  // Dies with the server, whatever way the server goes.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != static_cast<pid_t>(std::strtol(argv[5], nullptr, 10))) return 0;
  LockdownLimits limits;
  limits.address_space = std::strtoull(argv[2], nullptr, 10);
  limits.scratch = argv[4];
  const unsigned cpu = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
  auto area = PayloadArea::attach(kMemfd);
  if (!area) return 0;
  std::string missing = lock_down(limits);
  if (!missing.empty()) log::warning("decode helper: not applied:" + missing);
  if (!send_message(kSocket, "ready")) return 0;
  for (;;) {
    bool timed_out = false;
    int passed = -1;
    auto msg = receive_message(kSocket, timed_out, passed);
    if (!msg) return 0;  // the server closed the socket: shut down
    struct Close {
      int fd;
      ~Close() {
        if (fd >= 0) ::close(fd);
      }
    } close_passed{passed};
    std::string reply;
    auto handler = handler_for(*msg, handlers, passed);
    if (!handler) {
      reply = error_message(Error::internal("codec.helper", "unknown job"));
    } else {
      limit_cpu_for_next_job(cpu);
      Result<Answer> r = [&]() -> Result<Answer> {
        try {
          return handler();
        } catch (const std::exception& e) {
          return Error::internal("codec.decode", e.what());
        }
      }();
      if (!r) {
        reply = error_message(r.error());
      } else if (!r->payload.empty() && !area->write(r->payload)) {
        reply = error_message(Error::internal("codec.helper", "cannot write the result"));
      } else {
        reply = ok_message(r->payload.size(), r->meta);
      }
    }
    if (!send_message(kSocket, reply)) return 0;
  }
}

}  // namespace sipi::isolation
