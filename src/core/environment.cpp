#include "core/environment.h"

#include <cstring>

extern char** environ;

namespace sipi {

ChildEnvironment::ChildEnvironment(const std::string& name, const std::string& value) {
  const std::string prefix = name + "=";
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) vars_.emplace_back(*e);
  }
  vars_.push_back(prefix + value);
  for (auto& v : vars_) ptrs_.push_back(v.data());
  ptrs_.push_back(nullptr);
}

}  // namespace sipi
