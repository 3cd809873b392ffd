#include "core/temp_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <regex>

namespace sipi {
namespace fs = std::filesystem;

const std::string& host_tag() {
  static const std::string tag = [] {
    char buf[256] = {};
    std::string h = ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "host";
    for (char& c : h) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
    }
    if (h.size() > 32) h.resize(32);  // room for long file names under NAME_MAX
    return h.empty() ? std::string("host") : h;
  }();
  return tag;
}

fs::path temp_path_for(const fs::path& final_path, pid_t pid) {
  return final_path.parent_path() /
         ("." + final_path.filename().string() + ".sipi-" + host_tag() + "-" + std::to_string(pid) + ".tmp");
}

std::size_t remove_stale_temps(const fs::path& root) {
  // Host names hold no '-'-free guarantee: the pid is the last field.
  static const std::regex kTemp(R"(^\..+\.sipi-(.+)-([0-9]+)\.tmp$)");
  const auto now = fs::file_time_type::clock::now();
  const auto day_ago = now - std::chrono::hours(24);
  // Containers may share a host name without sharing process ids: this host's temporary is
  // also left alone while it was written in the last ten minutes.
  const auto recently = now - std::chrono::minutes(10);
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end; it != end;
       it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] != '.') continue;
    if (it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    std::smatch m;
    if (!it->is_regular_file(ec) || !std::regex_match(name, m, kTemp)) continue;
    const auto written = it->last_write_time(ec);
    if (ec) continue;
    bool stale;
    if (m[1].str() == host_tag()) {
      const std::string digits = m[2].str();
      int pid = 0;
      const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      if (err != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;  // not a pid of ours
      stale = written < recently && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    } else {
      stale = written < day_ago;
    }
    if (stale && fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace sipi
