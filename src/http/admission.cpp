#include "http/admission.h"

#include <algorithm>

#include "core/log.h"
#include "core/metrics.h"

namespace sipi::http {

const char* lane_name(Lane l) { return l == Lane::cheap ? "cheap" : "expensive"; }

Admission::Admission(AdmissionLimits limits) : limits_(limits) {
  limits_.workers = std::max(1, limits_.workers);
  limits_.expensive_workers = std::clamp(limits_.expensive_workers, 1, limits_.workers);
  for (int i = 0; i < limits_.workers; ++i) threads_.emplace_back([this] { work(); });
}

Admission::~Admission() { stop(); }

bool Admission::can_take(Lane l) const {
  const auto i = static_cast<int>(l);
  if (queues_[i].empty()) return false;
  return l == Lane::cheap || running_[i] < limits_.expensive_workers;
}

void Admission::submit(Lane lane, std::function<void()> job, std::function<void(const char*)> shed) {
  const auto i = static_cast<int>(lane);
  bool draining;
  {
    std::lock_guard lock(mu_);
    draining = stopping_;
    const std::size_t cap = lane == Lane::cheap ? limits_.cheap_queue : limits_.expensive_queue;
    // Workers free for this lane take queued jobs at once; only the rest count as waiting.
    const int idle = limits_.workers - running_[0] - running_[1];
    const int free = std::max(0, lane == Lane::cheap ? idle : std::min(idle, limits_.expensive_workers - running_[1]));
    if (!stopping_ && queues_[i].size() < cap + static_cast<std::size_t>(free)) {
      queues_[i].push_back({std::move(job), std::move(shed), std::chrono::steady_clock::now()});
      metrics().queue_depth[i] = static_cast<std::int64_t>(queues_[i].size());
      cv_.notify_all();
      return;
    }
  }
  metrics().shed(lane_name(lane), draining ? "draining" : "queue_full");
  shed("queue_full");
}

void Admission::work() {
  for (;;) {
    Item item;
    Lane lane;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return can_take(Lane::cheap) || can_take(Lane::expensive) || (stopping_ && queues_[0].empty() && queues_[1].empty()); });
      lane = can_take(Lane::cheap) ? Lane::cheap : can_take(Lane::expensive) ? Lane::expensive : Lane::cheap;
      const auto i = static_cast<int>(lane);
      if (queues_[i].empty()) return;  // stopping, nothing left
      item = std::move(queues_[i].front());
      queues_[i].pop_front();
      running_[i] += 1;
      metrics().queue_depth[i] = static_cast<std::int64_t>(queues_[i].size());
      metrics().in_flight[i] = running_[i];
    }
    const bool late = std::chrono::steady_clock::now() - item.queued > limits_.queue_timeout;
    try {
      if (late) {
        metrics().shed(lane_name(lane), "queue_timeout");
        item.shed("queue_timeout");
      } else {
        item.job();
      }
    } catch (...) {
      log::error("admission: a job threw");  // jobs catch their own errors; this is a backstop
    }
    item = Item{};  // release captures before the next wait
    std::lock_guard lock(mu_);
    const auto i = static_cast<int>(lane);
    running_[i] -= 1;
    metrics().in_flight[i] = running_[i];
    cv_.notify_all();
  }
}

void Admission::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace sipi::http
