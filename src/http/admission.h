// Admission control: the worker pool, in two lanes. Cheap work (tiles, info.json, small sizes,
// files) may use every worker; expensive work (large outputs, full-image decodes, Lua) at most
// `expensive_workers`, so a flood of full-size requests never takes the last worker from the
// tiles. Each lane has a bounded queue; a job that finds its queue full, or waits longer than
// the queue timeout, is shed (the caller answers 503 with Retry-After) instead of run.
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
  std::size_t cheap_queue = 64;
  std::size_t expensive_queue = 4;
  std::chrono::milliseconds queue_timeout{5000};
};

class Admission {
 public:
  explicit Admission(AdmissionLimits limits);
  ~Admission();
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // Runs `job` on a worker, or `shed(reason)` ("queue_full" at once on this thread,
  // "queue_timeout" on a worker) when it cannot run in time.
  void submit(Lane lane, std::function<void()> job, std::function<void(const char*)> shed);
  // Finishes what is queued and running, then joins the workers.
  void stop();

  const AdmissionLimits& limits() const { return limits_; }

 private:
  struct Item {
    std::function<void()> job;
    std::function<void(const char*)> shed;
    std::chrono::steady_clock::time_point queued;
  };
  void work();
  bool can_take(Lane l) const;

  AdmissionLimits limits_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queues_[2];
  int running_[2] = {0, 0};
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sipi::http
