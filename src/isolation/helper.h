// The decode helper's side: `sipi decode-helper …` (started by Pool, never by hand) locks
// itself down, says "ready", then answers one job at a time until the server closes the socket.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/result.h"
#include "isolation/pool.h"

namespace sipi::isolation {

using Handler = std::function<Result<Answer>(const nlohmann::json& job)>;
// A binary job's handler gets the bytes after the op's name (see channel.h), and the descriptor
// sent with the job (-1 when none; the render's spool file), which stays open until it returns.
using BinaryHandler = std::function<Result<Answer>(std::string_view body, int passed)>;

struct Handlers {
  std::map<std::string, Handler> json;
  std::map<std::string, BinaryHandler, std::less<>> binary;
};

// argv: sipi decode-helper ADDRESS_SPACE CPU_SECONDS SCRATCH PARENT_PID. Returns the exit code.
int run_helper(int argc, char** argv, const Handlers& handlers);

}  // namespace sipi::isolation
