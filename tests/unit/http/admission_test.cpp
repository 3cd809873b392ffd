// The worker pool's queueing policy: requests wait rather than being refused, cheap work goes
// first, each lane in arrival order, and a request is shed only once it waited queue_timeout.
#include "http/admission.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>

using namespace std::chrono_literals;
using sipi::http::Admission;
using sipi::http::AdmissionLimits;
using sipi::http::Lane;

namespace {

AdmissionLimits one_worker(std::chrono::milliseconds timeout = 5000ms) {
  AdmissionLimits l;
  l.workers = 1;
  l.expensive_workers = 1;
  l.queue_timeout = timeout;
  return l;
}

// Holds the pool's only worker until released.
struct Gate {
  std::promise<void> entered, open;
  std::shared_future<void> opened{open.get_future().share()};
  void submit(Admission& a) {
    a.submit(Lane::expensive, [this] { entered.set_value(); opened.wait(); }, [](const char*, int) { FAIL(); });
    entered.get_future().wait();
  }
};

}  // namespace

TEST(Admission, QueuedWorkIsServedCheapFirstThenInArrivalOrder) {
  Admission a(one_worker());
  Gate gate;
  gate.submit(a);
  std::mutex mu;
  std::string order;
  auto job = [&](char c) { return [&, c] { std::lock_guard l(mu); order += c; }; };
  auto no_shed = [](const char* why, int) { ADD_FAILURE() << why; };
  for (char c : std::string("abcdefgh")) a.submit(Lane::expensive, job(c), no_shed);  // more than 2 × workers
  a.submit(Lane::cheap, job('1'), no_shed);
  a.submit(Lane::cheap, job('2'), no_shed);
  gate.open.set_value();
  a.stop();
  EXPECT_EQ(order, "12abcdefgh");
}

TEST(Admission, ShedsAtTheTimeoutNotBeforeAndNotLater) {
  Admission a(one_worker(200ms));
  Gate gate;
  gate.submit(a);  // the worker stays busy for longer than the timeout
  const auto t0 = std::chrono::steady_clock::now();
  std::promise<std::pair<std::string, double>> shed;
  a.submit(Lane::expensive, [] { ADD_FAILURE() << "ran"; }, [&](const char* why, int retry) {
    shed.set_value({why, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 60);
  });
  auto f = shed.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "never shed while the worker was busy";
  const auto [why, waited] = f.get();
  EXPECT_EQ(why, "queue_timeout");
  EXPECT_GE(waited, 0.2);
  gate.open.set_value();
  a.stop();
}

TEST(Admission, AFullQueueAndADrainingPoolRefuseAtOnce) {
  AdmissionLimits l = one_worker();
  l.expensive_queue = 1;
  Admission a(l);
  Gate gate;
  gate.submit(a);
  std::atomic<int> ran{0};
  std::string reason;
  a.submit(Lane::expensive, [&] { ++ran; }, [](const char*, int) { ADD_FAILURE(); });
  a.submit(Lane::expensive, [&] { ++ran; }, [&](const char* why, int) { reason = why; });
  EXPECT_EQ(reason, "queue_full");
  gate.open.set_value();
  a.stop();
  EXPECT_EQ(ran.load(), 1);
  a.submit(Lane::cheap, [&] { ++ran; }, [&](const char* why, int) { reason = why; });
  EXPECT_EQ(reason, "draining");
}
