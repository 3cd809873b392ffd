// The HTTP server: one acceptor, I/O threads that only move bytes, and a worker pool for
// decoding. SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to
// drain_timeout seconds), close idle connections, and return.
#pragma once

#include <memory>

#include "http/message.h"

namespace sipi::http {

// Blocks until shut down. Returns the process exit code (0 after a clean drain, 1 when the
// port cannot be bound).
int run_server(std::shared_ptr<const AppContext> ctx);

}  // namespace sipi::http
