#include "convert/output_file.h"

#include <unistd.h>

#include "core/temp_file.h"

namespace sipi::convert {

OutputFile::OutputFile(std::filesystem::path final_path) : final_(std::move(final_path)) {
  temp_ = temp_path_for(final_, ::getpid());
}

OutputFile::~OutputFile() {
  if (!done_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

bool OutputFile::commit() {
  std::error_code ec;
  std::filesystem::rename(temp_, final_, ec);
  done_ = !ec;
  return done_;
}

}  // namespace sipi::convert
