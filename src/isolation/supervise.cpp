#include "isolation/supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/environment.h"
#include "core/temp_file.h"

namespace sipi::isolation {
namespace {

constexpr const char* kChildVar = "SIPI_SUPERVISED_CHILD";

// Reads the pipes (fd -1 = none) to their ends, together, so that neither fills while the other
// is read; keeps the first MiB of each. Closes them.
void drain(std::vector<std::pair<int, std::string*>> pipes) {
  std::vector<pollfd> fds;
  for (auto& [fd, text] : pipes) {
    if (fd >= 0) fds.push_back({fd, POLLIN, 0});
  }
  char buf[4096];
  while (!fds.empty()) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < fds.size();) {
      if (fds[i].revents == 0) {
        ++i;
        continue;
      }
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      for (auto& [fd, text] : pipes) {
        if (fd == fds[i].fd && text->size() < (1u << 20)) text->append(buf, static_cast<std::size_t>(n));
      }
      ++i;
    }
  }
}

}  // namespace

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

bool is_supervised_child() {
  const char* v = std::getenv(kChildVar);
  return v && std::strcmp(v, "1") == 0;
}

ChildResult run_child(const std::vector<std::string>& args, const ChildOptions& options) {
  ChildResult out;
  int err[2], std_out[2] = {-1, -1};
  if (::pipe2(err, O_CLOEXEC) != 0 || (options.capture_stdout && ::pipe2(std_out, O_CLOEXEC) != 0)) {
    out.exit_code = 1;
    out.stderr_text = std::string("cannot start a child process: ") + std::strerror(errno);
    return out;
  }
  ChildEnvironment env(kChildVar, "1");
  std::vector<char*> argv;
  std::vector<std::string> args_copy = args;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (options.capture_stdout) posix_spawn_file_actions_adddup2(&fa, std_out[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  // No core dump from a crashing codec: the soft limit is inherited by the child, then restored.
  rlimit old{};
  ::getrlimit(RLIMIT_CORE, &old);
  rlimit none{0, old.rlim_max};
  ::setrlimit(RLIMIT_CORE, &none);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), env.envp());
  ::setrlimit(RLIMIT_CORE, &old);
  posix_spawn_file_actions_destroy(&fa);
  ::close(err[1]);
  if (std_out[1] >= 0) ::close(std_out[1]);
  if (rc != 0) {
    ::close(err[0]);
    if (std_out[0] >= 0) ::close(std_out[0]);
    out.exit_code = 1;
    out.stderr_text = std::string("cannot start a child process: ") + std::strerror(rc);
    return out;
  }
  // The child's stderr is held back until we know how it ended: after a crash it is a
  // library's assert text, not SIPI's message.
  drain({{err[0], &out.stderr_text}, {std_out[0], &out.stdout_text}});
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  out.pid = pid;
  if (WIFSIGNALED(st)) out.signal = WTERMSIG(st);
  else out.exit_code = WEXITSTATUS(st);
  return out;
}

int run_supervised(char** argv, const CrashReport& report) {
  std::vector<std::string> args;
  for (char** a = argv; *a; ++a) args.emplace_back(*a);
  ChildResult r = run_child(args);
  if (r.signal == 0) {
    std::cerr << r.stderr_text << std::flush;
    return r.exit_code;
  }
  const pid_t pid = r.pid;
  const int st_sig = r.signal;
  // Killed: remove the half-written output (cli::OutputFile's name for it in that process).
  if (!report.output.empty()) {
    std::error_code ec;
    std::filesystem::remove(temp_path_for(report.output, pid), ec);
  }
  const std::string why = "the image decoder crashed (" + signal_name(st_sig) + ") on " + report.input;
  if (report.json) {
    nlohmann::ordered_json j;
    j["status"] = "error";
    j["mode"] = "cli";
    j["phase"] = "read";
    j["error_message"] = why;
    j["input_file"] = report.input;
    if (!report.output.empty()) j["output_file"] = report.output;
    std::cout << j.dump() << std::endl;
  }
  std::cerr << "Error reading image: " << why << std::endl;
  return report.exit_code;
}

}  // namespace sipi::isolation
