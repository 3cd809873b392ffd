#include "http/admission.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "core/metrics.h"

namespace sipi::http {

using Clock = std::chrono::steady_clock;

const char* lane_name(Lane l) { return l == Lane::cheap ? "cheap" : "expensive"; }

Admission::Admission(AdmissionLimits limits) : limits_(limits) {
  limits_.workers = std::max(1, limits_.workers);
  limits_.expensive_workers = std::clamp(limits_.expensive_workers, 1, limits_.workers);
  for (int i = 0; i < limits_.workers; ++i) threads_.emplace_back([this] { work(); });
  timer_ = std::thread([this] { expire(); });
}

Admission::~Admission() { stop(); }

bool Admission::can_take(Lane l) const {
  const auto i = static_cast<int>(l);
  if (queues_[i].empty()) return false;
  return l == Lane::cheap || running_[i] < limits_.expensive_workers;
}

int Admission::retry_after_locked(Lane l) const {
  const auto i = static_cast<int>(l);
  const int lane_workers = l == Lane::cheap ? limits_.workers : limits_.expensive_workers;
  const double drain = service_s_[i] * static_cast<double>(queues_[i].size() + running_[i]) / lane_workers;
  return std::clamp(static_cast<int>(std::ceil(drain)), 1, 60);
}

void Admission::shed_late(Lane l, Item& item, int retry_after_s) {
  metrics().shed(lane_name(l), "queue_timeout");
  try {
    item.shed("queue_timeout", retry_after_s);
  } catch (...) {
    log::error("admission: a shed callback threw");
  }
}

void Admission::submit(Lane lane, std::function<void()> job, Shed shed) {
  const auto i = static_cast<int>(lane);
  bool draining;
  int retry;
  {
    std::lock_guard lock(mu_);
    draining = stopping_;
    const std::size_t cap = lane == Lane::cheap ? limits_.cheap_queue : limits_.expensive_queue;
    // Workers free for this lane take queued jobs at once; only the rest count as waiting.
    const int idle = limits_.workers - running_[0] - running_[1];
    const int free = std::max(0, lane == Lane::cheap ? idle : std::min(idle, limits_.expensive_workers - running_[1]));
    if (!stopping_ && queues_[i].size() < cap + static_cast<std::size_t>(free)) {
      queues_[i].push_back({std::move(job), std::move(shed), Clock::now()});
      metrics().queue_depth[i] = static_cast<std::int64_t>(queues_[i].size());
      cv_.notify_all();
      if (queues_[i].size() == 1) timer_cv_.notify_one();  // a new earliest deadline
      return;
    }
    retry = retry_after_locked(lane);
  }
  const char* reason = draining ? "draining" : "queue_full";
  metrics().shed(lane_name(lane), reason);
  shed(reason, retry);
}

void Admission::work() {
  for (;;) {
    Item item;
    Lane lane;
    int retry = 1;
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
      retry = retry_after_locked(lane);
    }
    const auto start = Clock::now();
    const bool late = start - item.queued > limits_.queue_timeout;  // the timer thread was about to
    try {
      if (late) {
        shed_late(lane, item, retry);
      } else {
        item.job();
      }
    } catch (...) {
      log::error("admission: a job threw");  // jobs catch their own errors; this is a backstop
    }
    item = Item{};  // release captures before the next wait
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    std::lock_guard lock(mu_);
    const auto i = static_cast<int>(lane);
    if (!late) service_s_[i] += (took - service_s_[i]) / 16;
    running_[i] -= 1;
    metrics().in_flight[i] = running_[i];
    cv_.notify_all();
  }
}

void Admission::expire() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_ && threads_.empty()) return;
    // The queues are in arrival order: only their fronts can be the next to expire.
    auto next = Clock::time_point::max();
    for (const auto& q : queues_) {
      if (!q.empty()) next = std::min(next, q.front().queued + limits_.queue_timeout);
    }
    if (next == Clock::time_point::max()) {
      timer_cv_.wait(lock);
      continue;
    }
    if (Clock::now() <= next) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    for (Lane l : {Lane::cheap, Lane::expensive}) {
      auto& q = queues_[static_cast<int>(l)];
      while (!q.empty() && Clock::now() - q.front().queued > limits_.queue_timeout) {
        Item item = std::move(q.front());
        q.pop_front();
        metrics().queue_depth[static_cast<int>(l)] = static_cast<std::int64_t>(q.size());
        const int retry = retry_after_locked(l);
        lock.unlock();
        shed_late(l, item, retry);
        item = Item{};
        lock.lock();
      }
    }
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
  {
    std::lock_guard lock(mu_);
    threads_.clear();
    timer_cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
}

}  // namespace sipi::http
