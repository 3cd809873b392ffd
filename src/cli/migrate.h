// `sipi convert --recursive SRC DST [convert options]`: a directory tree converted file by file,
// e.g. an archive of classic JPEG 2000 or TIFF masters into HTJ2K. Each file is converted by a
// child `sipi convert` (a crashing codec costs one file, not the run), several at once; outputs
// appear atomically (the converter's temp-and-rename), so an interrupted run is resumed by
// running it again: outputs newer than their sources are skipped.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sipi::cli {

struct MigrateOptions {
  std::filesystem::path source, target;    // directories
  std::vector<std::string> convert_args;   // convert's options for every file (after IN OUT)
  std::string extension;                   // of the outputs, with the dot
  unsigned jobs = 0;                       // files at once; 0 = one per core
  bool verify = false;                     // decode each output and compare it with its source
  bool json = false;                       // JSON lines on stdout, one per file and a summary
};

// 0 when every file was converted (and verified) or already up to date, 1 otherwise (and 1 with
// one line on stderr for bad arguments).
int run_migrate(const MigrateOptions& o);

// The options of a migration from convert's command line (`args` after "convert"), or an error
// message for the user. `format` and `ht` are what convert parsed.
std::string migrate_options_from(const std::vector<std::string>& args, const std::string& source,
                                 const std::string& target, const std::string& format, bool ht, MigrateOptions& out);

}  // namespace sipi::cli
