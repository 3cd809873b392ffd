// The environment of a child process: this process's, with one variable set to a new value.
// Used by the two places that spawn sipi again (decode helpers, supervised commands).
#pragma once

#include <string>
#include <vector>

namespace sipi {

class ChildEnvironment {
 public:
  ChildEnvironment(const std::string& name, const std::string& value);
  char** envp() { return ptrs_.data(); }  // null-terminated, valid while this object lives

 private:
  std::vector<std::string> vars_;
  std::vector<char*> ptrs_;
};

}  // namespace sipi
