// A clock's reading in milliseconds (CLOCK_MONOTONIC for elapsed time, CLOCK_PROCESS_CPUTIME_ID
// for a process's CPU time, …).
#pragma once

#include <time.h>

namespace sipi {

inline double clock_ms(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace sipi
