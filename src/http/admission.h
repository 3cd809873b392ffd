// Admission control: the worker pool, in two lanes. Cheap work (tiles, info.json, small sizes,
// files) may use every worker; expensive work (large outputs, full-image decodes, Lua) at most
// `expensive_workers`, so a flood of full-size requests never takes the last worker from the
// tiles. Workers take cheap work first, each lane first come, first served.
//
// A waiting request costs a socket and a few hundred bytes, so the queues are long (bounded as a
// safeguard, not as the policy): a request is shed (the caller answers 503 with Retry-After) only
// when it has waited `queue_timeout` without starting, at that moment, or when its queue holds
// thousands. Retry-After comes from the measured drain rate: the lane's queue times its mean
// service time over its workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sipi::http {

enum class Lane { cheap = 0, expensive = 1 };
const char* lane_name(Lane l);

struct AdmissionLimits {
  int workers = 2;
  int expensive_workers = 1;
  std::size_t cheap_queue = 4096;
  std::size_t expensive_queue = 1024;
  std::chrono::milliseconds queue_timeout{5000};
};

class Admission {
 public:
  // Called instead of the job: reason ("queue_full", "queue_timeout", "draining") and the
  // seconds after which a retry is likely to be served (1..60).
  using Shed = std::function<void(const char* reason, int retry_after_s)>;

  explicit Admission(AdmissionLimits limits);
  ~Admission();
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // Runs `job` on a worker, or `shed` when it cannot: at once on this thread when the queue is
  // full or the pool is stopping, on the pool's timer thread when it waited `queue_timeout`.
  void submit(Lane lane, std::function<void()> job, Shed shed);
  // Finishes what is queued and running, then joins the workers.
  void stop();

  const AdmissionLimits& limits() const { return limits_; }

 private:
  struct Item {
    std::function<void()> job;
    Shed shed;
    std::chrono::steady_clock::time_point queued;
  };
  void work();
  void expire();  // the timer thread: sheds what waited queue_timeout
  bool can_take(Lane l) const;
  int retry_after_locked(Lane l) const;
  void shed_late(Lane l, Item& item, int retry_after_s);

  AdmissionLimits limits_;
  std::mutex mu_;
  std::condition_variable cv_;        // workers
  std::condition_variable timer_cv_;  // the timer thread
  std::deque<Item> queues_[2];
  int running_[2] = {0, 0};
  double service_s_[2] = {0.01, 0.5};  // mean seconds per job, moving average
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread timer_;
};

}  // namespace sipi::http
