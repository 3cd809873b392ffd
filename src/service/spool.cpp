#include "service/spool.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "encode/encode.h"

namespace sipi::service {

std::uint64_t spool_above() {
  static const std::uint64_t v = [] {
    const char* e = std::getenv("SIPI_SPOOL_ABOVE");
    char* end = nullptr;
    const unsigned long long n = e && *e ? std::strtoull(e, &end, 10) : 0;
    return e && *e && end && *end == '\0' ? static_cast<std::uint64_t>(n) : kSpoolAbove;
  }();
  return v;
}

bool should_spool(const PreparedImage& p) {
  const std::uint64_t px = static_cast<std::uint64_t>(p.size.w) * static_cast<std::uint64_t>(p.size.h);
  return px * 3 > spool_above();
}

Result<std::shared_ptr<SpooledBody>> open_spool(const std::filesystem::path& dir) {
  // O_TMPFILE: never has a name, so nothing to clean up whatever happens. Filesystems without
  // it (some network ones) get a named file removed at once.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string tmpl = (dir / "sipi-spool-XXXXXX").string();
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(tmpl.c_str());
  }
  if (fd < 0) return Error::internal("spool.create", dir.string() + ": " + std::strerror(errno));
  return std::make_shared<SpooledBody>(fd);
}

Result<Ok> finish_spool(SpooledBody& body) {
  struct stat st {};
  if (::fstat(body.fd, &st) != 0) return Error::internal("spool.stat", std::strerror(errno));
  body.offset = 0;
  body.length = static_cast<std::uint64_t>(st.st_size);
  return Ok{};
}

}  // namespace sipi::service
