#include "http/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <thread>

#include "core/log.h"
#include "core/metrics.h"
#include "http/session.h"

namespace sipi::http {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor& acceptor, std::shared_ptr<const AppContext> ctx,
           Admission& workers, std::shared_ptr<SessionRegistry> registry)
      : ioc_(ioc), acceptor_(acceptor), ctx_(std::move(ctx)), workers_(workers), registry_(std::move(registry)) {}

  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->ctx_, self->workers_, self->registry_)->start();
      self->accept();
    });
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor& acceptor_;
  std::shared_ptr<const AppContext> ctx_;
  Admission& workers_;
  std::shared_ptr<SessionRegistry> registry_;
};

}  // namespace

int run_server(std::shared_ptr<const AppContext> ctx) {
  const Config& cfg = *ctx->config;
  const int io_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 4);
  net::io_context ioc(io_threads);
  const int n = cfg.worker_threads();
  AdmissionLimits limits;
  // One more worker than configured, kept for cheap work: expensive requests may occupy all `n`
  // (a full-size download uses every core it is given), and tiles still have a thread of their
  // own to be scheduled on.
  limits.workers = n + 1;
  metrics().permits_total = limits.workers;
  limits.expensive_workers = n;
  // Queues long enough that a request is refused only for having waited queue_timeout: a
  // waiting request holds a socket and a few hundred bytes (admission.h).
  limits.cheap_queue = static_cast<std::size_t>(std::max(4096, 256 * n));
  limits.expensive_queue = static_cast<std::size_t>(cfg.max_waiting >= 0 ? cfg.max_waiting : 1024);
  limits.queue_timeout = std::chrono::milliseconds(static_cast<long long>(cfg.queue_timeout * 1000));
  Admission workers(limits);
  auto registry = std::make_shared<SessionRegistry>();

  tcp::acceptor acceptor(ioc);
  boost::system::error_code ec;
  auto address = net::ip::make_address(cfg.bind_address, ec);
  if (ec) {
    log::error("cannot start", {{"key", "bind_address"}, {"error", ec.message()}});
    return 1;
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(cfg.port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    log::error("cannot listen", {{"address", cfg.bind_address}, {"port", log::num(static_cast<long long>(cfg.port))},
                                 {"error", ec.message()}});
    return 1;
  }
  std::make_shared<Listener>(ioc, acceptor, ctx, workers, registry)->accept();

  // Graceful drain: stop accepting, close idle connections, wait for the busy ones.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer drain_timer(ioc), grace_timer(ioc);
  std::chrono::steady_clock::time_point deadline;
  std::function<void()> poll_drain = [&] {
    if (registry->size() == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (registry->size() > 0) log::warning("drain timeout; closing remaining connections");
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](boost::system::error_code) { poll_drain(); });
  };
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code e, int sig) {
    if (e) return;
    if (!metrics().ready) {  // a second signal: stop now
      ioc.stop();
      return;
    }
    log::info("draining", {{"signal", log::num(static_cast<long long>(sig))},
                           {"connections", log::num(static_cast<long long>(registry->size()))},
                           {"grace_seconds", log::num(static_cast<long long>(cfg.drain_grace))}});
    // Unready at once; keep serving through the grace period while the load balancer notices,
    // then stop accepting and finish what is in flight.
    metrics().ready = false;
    grace_timer.expires_after(std::chrono::seconds(cfg.drain_grace));
    grace_timer.async_wait([&](boost::system::error_code) {
      boost::system::error_code ignore;
      acceptor.close(ignore);
      registry->drain_all();
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg.drain_timeout);
      poll_drain();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  log::info("listening", {{"address", cfg.bind_address}, {"port", log::num(static_cast<long long>(cfg.port))},
                          {"workers", log::num(static_cast<long long>(n))},
                          {"expensive_workers", log::num(static_cast<long long>(limits.expensive_workers))},
                          {"imgroot", cfg.imgroot}});
  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  workers.stop();
  log::info("stopped");
  return 0;
}

}  // namespace sipi::http
