#include "convert/output_file.h"

#include <unistd.h>

namespace sipi::convert {

OutputFile::OutputFile(std::filesystem::path final_path) : final_(std::move(final_path)) {
  auto dir = final_.parent_path();
  temp_ = dir / ("." + final_.filename().string() + ".sipi-" + std::to_string(::getpid()) + ".tmp");
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
