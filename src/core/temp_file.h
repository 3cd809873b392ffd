// Files written beside their final place under a temporary name and renamed when complete
// (conversions, uploads, the derivative cache), and what is left of them when a writer dies.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace sipi {

// This host's name, made safe for a file name: the directory may be shared (NFS), so names
// carry host and process.
const std::string& host_tag();

// ".<name>.sipi-<host>-<pid>.tmp" beside `final_path`: hidden, so that directory walks
// (`sipi convert --recursive`, the web server) pass it by.
std::filesystem::path temp_path_for(const std::filesystem::path& final_path, pid_t pid);

// Removes the temporary files of temp_path_for below `root` (not inside hidden directories)
// that a writer left when it died: this host's once its process is gone and it is ten minutes
// old, another host's once a day old. Returns how many it removed.
std::size_t remove_stale_temps(const std::filesystem::path& root);

}  // namespace sipi
