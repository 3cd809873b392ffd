// The decode-memory budget: requests reserve their estimated peak memory before decoding, so
// that concurrent large decodes cannot together exhaust the machine. A request larger than the
// whole budget is refused (413); one that does not fit next to the others waits briefly, then
// is refused (503, try again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace sipi::service {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t bytes);

  class Reservation {
   public:
    Reservation(MemoryBudget* b, std::uint64_t n) : budget_(b), bytes_(n) {}
    Reservation(Reservation&& o) noexcept : budget_(o.budget_), bytes_(o.bytes_) { o.budget_ = nullptr; }
    Reservation& operator=(Reservation&& o) noexcept {
      std::swap(budget_, o.budget_);
      std::swap(bytes_, o.bytes_);
      return *this;
    }
    Reservation(const Reservation&) = delete;
    ~Reservation();

   private:
    MemoryBudget* budget_;
    std::uint64_t bytes_;
  };

  std::uint64_t total() const { return total_; }
  // Waits up to `wait` for `bytes` to fit; nothing when they do not (or exceed the total).
  std::optional<Reservation> acquire(std::uint64_t bytes, std::chrono::milliseconds wait);

 private:
  void release(std::uint64_t bytes);
  const std::uint64_t total_;
  std::uint64_t used_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sipi::service
