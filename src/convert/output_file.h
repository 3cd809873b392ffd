// Writes an output next to its final name and renames it into place only when complete, so a
// failed conversion leaves nothing behind and a reader never sees half a file.
#pragma once

#include <filesystem>

namespace sipi::convert {

class OutputFile {
 public:
  explicit OutputFile(std::filesystem::path final_path);
  ~OutputFile();  // removes the temporary file unless commit() succeeded
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::filesystem::path& temp() const { return temp_; }
  bool commit();  // atomic rename onto the final path

 private:
  std::filesystem::path final_, temp_;
  bool done_ = false;
};

}  // namespace sipi::convert
