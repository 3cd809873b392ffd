#include "isolation/poison.h"

namespace sipi::isolation {

void PoisonList::add(const FileKey& k) {
  std::lock_guard lock(mu_);
  auto key = k.str();
  added_[key] = Entry{Clock::now(), ++serial_};
  order_.emplace_back(key, serial_);
  while ((added_.size() > capacity_ || order_.size() > 2 * capacity_) && !order_.empty()) {
    auto it = added_.find(order_.front().first);
    if (it != added_.end() && it->second.serial == order_.front().second) added_.erase(it);
    order_.pop_front();
  }
}

bool PoisonList::contains(const FileKey& k) {
  std::lock_guard lock(mu_);
  auto it = added_.find(k.str());
  if (it == added_.end()) return false;
  if (Clock::now() - it->second.when > ttl_) {
    added_.erase(it);  // its order_ entry is skipped when it reaches the front
    return false;
  }
  return true;
}

std::size_t PoisonList::size() const {
  std::lock_guard lock(mu_);
  return added_.size();
}

}  // namespace sipi::isolation
