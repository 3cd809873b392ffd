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
  a["ok"] = false;
  a["status"] = static_cast<int>(e.status);
  a["detail"] = e.detail;
  a["message"] = e.message;
  return a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int run_helper(int argc, char** argv, const std::map<std::string, Handler>& handlers) {
  if (argc < 6) return 2;
  // Dies with the server, whatever way the server goes.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != static_cast<pid_t>(std::strtol(argv[5], nullptr, 10))) return 0;
  LockdownLimits limits;
  limits.address_space = std::strtoull(argv[2], nullptr, 10);
  limits.scratch = argv[4];
  const unsigned cpu = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
  std::string missing = lock_down(limits);
  if (!missing.empty()) log::warning("decode helper: not applied:" + missing);
  if (!send_message(kSocket, "ready")) return 0;
  for (;;) {
    bool timed_out = false;
    auto msg = receive_message(kSocket, std::chrono::hours(24 * 365), timed_out);
    if (!msg) return 0;  // the server closed the socket: shut down
    std::string reply;
    nlohmann::json job = nlohmann::json::parse(*msg, nullptr, false);
    auto it = job.is_object() ? handlers.find(job.value("op", "")) : handlers.end();
    if (it == handlers.end()) {
      reply = error_message(Error::internal("codec.helper", "unknown job"));
    } else {
      limit_cpu_for_next_job(cpu);
      Result<Answer> r = [&]() -> Result<Answer> {
        try {
          return it->second(job);
        } catch (const std::exception& e) {
          return Error::internal("codec.decode", e.what());
        }
      }();
      if (!r) {
        reply = error_message(r.error());
      } else if (!r->payload.empty() && !write_payload(kMemfd, r->payload)) {
        reply = error_message(Error::internal("codec.helper", "cannot write the result"));
      } else {
        nlohmann::json a;
        a["ok"] = true;
        a["payload"] = r->payload.size();
        a["meta"] = std::move(r->meta);
        reply = a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    if (!send_message(kSocket, reply)) return 0;
  }
}

}  // namespace sipi::isolation
