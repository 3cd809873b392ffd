// The offline commands (convert and its service-file/access-file forms, query, compare, verify,
// health): their command-line options and how a parsed command is run.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/convert.h"
#include "cli/migrate.h"

namespace sipi::app {

// Option values and the subcommands they belong to; CLI11 keeps references into it, so it stays
// where it was declared until the command has run.
struct OfflineCommands {
  cli::ConvertOptions conv, service_opts, access_opts;
  bool recursive = false, verify_outputs = false;  // convert --recursive SRC DST [--verify]
  unsigned jobs = 0;
  std::string query_file;
  bool query_json = false;
  std::string cmp_a, cmp_b;
  bool quiet_json = false;  // --json on compare and verify: accepted as SIPI does; reports go to stderr anyway
  std::string health_host = "127.0.0.1";
  int health_port = 1024, health_timeout = 5;
  std::string verify_file, verify_service, verify_access;
  CLI::App *convert = nullptr, *service_file = nullptr, *access_file = nullptr, *query = nullptr, *compare = nullptr,
           *health = nullptr, *verify = nullptr, *verify_sf = nullptr, *verify_af = nullptr;
};

void add_offline_commands(CLI::App& app, OfflineCommands& c);

// Runs the parsed offline command (0 when none was given). Crash-prone work re-runs itself as a
// supervised child (isolation/supervise.h); `quiet_glib` routes GLib's warnings to the log.
int run_offline(OfflineCommands& c, char** argv, void (*quiet_glib)());

}  // namespace sipi::app
