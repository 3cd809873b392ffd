// What a decode helper gives up before it touches an untrusted file: core dumps, ptrace by
// its own user, memory and CPU beyond its limits, the network, new programs, and writes
// anywhere but its scratch directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sipi::isolation {

struct LockdownLimits {
  std::uint64_t address_space = 0;  // RLIMIT_AS in bytes; 0 = none (sanitizer builds ignore it)
  std::filesystem::path scratch;    // the only writable directory
};

// Applies everything; returns a description of what could not be applied ("" = all of it),
// for the server's log. Filesystem confinement uses Landlock and falls back to refusing every
// open for writing (seccomp) on kernels without it.
std::string lock_down(const LockdownLimits& limits);

// Sets the CPU-time limit for the next job: `seconds` of CPU from now, then SIGXCPU (the
// helper dies, the server counts a crash). Called before each job, since RLIMIT_CPU counts
// the whole process life.
void limit_cpu_for_next_job(unsigned seconds);

}  // namespace sipi::isolation
