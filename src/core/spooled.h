// An encoded body kept in a file instead of memory: large outputs are encoded straight into an
// unlinked temporary file (service/spool.h) and sent from it, so that neither the decode helper
// nor the server holds the whole output. Shared by the response being sent and whoever copies
// it into the derivative cache; the descriptor is closed with the last owner.
#pragma once

#include <unistd.h>

#include <cstdint>

namespace sipi {

struct SpooledBody {
  int fd = -1;
  std::uint64_t offset = 0;  // where the body starts in the file
  std::uint64_t length = 0;

  SpooledBody() = default;
  explicit SpooledBody(int f) : fd(f) {}
  SpooledBody(const SpooledBody&) = delete;
  SpooledBody& operator=(const SpooledBody&) = delete;
  ~SpooledBody() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace sipi
