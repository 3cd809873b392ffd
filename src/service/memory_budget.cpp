#include "service/memory_budget.h"

#include "core/metrics.h"

namespace sipi::service {

MemoryBudget::MemoryBudget(std::uint64_t bytes) : total_(bytes) {
  metrics().decode_memory_budget = static_cast<std::int64_t>(bytes);
}

MemoryBudget::Reservation::~Reservation() {
  if (budget_) budget_->release(bytes_);
}

std::optional<MemoryBudget::Reservation> MemoryBudget::acquire(std::uint64_t bytes, std::chrono::milliseconds wait) {
  if (bytes > total_) return std::nullopt;
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait, [&] { return used_ + bytes <= total_; })) return std::nullopt;
  used_ += bytes;
  metrics().decode_memory_used = static_cast<std::int64_t>(used_);
  return Reservation(this, bytes);
}

void MemoryBudget::release(std::uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    used_ -= bytes;
    metrics().decode_memory_used = static_cast<std::int64_t>(used_);
  }
  cv_.notify_all();
}

}  // namespace sipi::service
