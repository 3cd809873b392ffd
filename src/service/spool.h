// Spool files: where a large output is encoded instead of memory. An unlinked temporary file in
// the system's temporary directory ($TMPDIR, else /tmp; not SIPI's upload `tmpdir`): the encoder writes it as it goes, the server sends it with pread, the
// derivative cache copies it in the kernel, and it disappears with its last descriptor (a crash
// leaves nothing behind). Page cache rather than process memory, so 32 concurrent `max`
// downloads do not add 32 outputs to the resident set.
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "core/spooled.h"
#include "service/image_service.h"

namespace sipi::service {

// Outputs whose raw pixels (width × height × bands) exceed this are encoded into a spool file.
// Below it the encoded body crosses in memory: one copy through the helper's shared window,
// cheaper than creating, writing and reading back a file (bench/results/2026-12-06-spool.md).
constexpr std::uint64_t kSpoolAbove = 24u << 20;

// kSpoolAbove, or the environment's SIPI_SPOOL_ABOVE (bytes; for tests and measurements).
std::uint64_t spool_above();

// Whether `p`'s output goes through a spool file.
bool should_spool(const PreparedImage& p);

// A new empty spool file in `dir`. Errors: 500 spool.create (the directory is missing or full).
Result<std::shared_ptr<SpooledBody>> open_spool(const std::filesystem::path& dir);

// Sets `body.length` from the file's size (the encoder wrote from offset 0). Errors: 500
// spool.stat.
Result<Ok> finish_spool(SpooledBody& body);

}  // namespace sipi::service
