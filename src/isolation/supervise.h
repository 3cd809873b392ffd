// The offline commands (convert, query, verify, compare) decode untrusted files with the same
// libraries as the server, and a library that aborts or crashes would end the command with a
// core dump and a library's assert text instead of SIPI's one-line error. So the command runs
// in a child process of the same binary; this parent relays the child's output and, if the
// child died of a signal, reports the crash as an ordinary failure.
#pragma once

#include <string>
#include <vector>

namespace sipi::isolation {

struct CrashReport {
  std::string command;      // "convert", "query", …
  std::string input, output;
  bool json = false;        // print the --json error document on stdout
  int exit_code = 1;        // what a crash exits with (compare: 2 = unreadable)
};

// How a child process of this binary ended: its exit code, or the signal that killed it.
struct ChildResult {
  int exit_code = 0;
  int signal = 0;       // non-zero: killed by this signal
  int pid = 0;
  std::string stderr_text, stdout_text;
};

// How run_child treats the child's stdout and where it runs.
struct ChildOptions {
  bool capture_stdout = false;  // into ChildResult::stdout_text (else inherited)
  std::string cwd;              // working directory ("" = ours)
};

// Runs this binary with `args` (args[0] is the program name) as a supervised child, its stderr
// captured, no other descriptor inherited, and waits for it.
ChildResult run_child(const std::vector<std::string>& args, const ChildOptions& options = {});

// "SIGABRT" for 6.
std::string signal_name(int sig);

// True inside the child (the environment says so): run the command itself.
bool is_supervised_child();

// Runs argv again as a child and waits. Returns the child's exit code, or report.exit_code after
// a crash (one line on stderr, the JSON document on stdout with --json, no temporary output
// left behind).
int run_supervised(char** argv, const CrashReport& report);

}  // namespace sipi::isolation
