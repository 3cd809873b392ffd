#include "http/session.h"

#include "core/metrics.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "http/multipart.h"
#include "http/respond.h"
#include "http/router.h"
#include "http/spooled_body.h"

namespace sipi::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

// ---- registry ----
void SessionRegistry::add(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mutex_);
  sessions_[s.get()] = s;
  metrics().connections = static_cast<std::int64_t>(sessions_.size());
}
void SessionRegistry::remove(Session* s) {
  std::lock_guard lock(mutex_);
  sessions_.erase(s);
  metrics().connections = static_cast<std::int64_t>(sessions_.size());
}
std::size_t SessionRegistry::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}
void SessionRegistry::drain_all() {
  draining = true;
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& [_, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->drain();
}

// ---- session ----
Session::Session(net::ip::tcp::socket&& socket, std::shared_ptr<const AppContext> ctx, Admission& workers,
                 std::shared_ptr<SessionRegistry> registry)
    : stream_(std::move(socket)), ctx_(std::move(ctx)), workers_(workers), registry_(std::move(registry)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    client_ip_ = ep.address().to_string();
    client_port_ = ep.port();
  }
}

Session::~Session() { registry_->remove(this); }

void Session::start() {
  registry_->add(shared_from_this());
  // Each socket was accepted onto its own strand; run everything there.
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void Session::drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->keep_alive_ = false;
    if (self->idle_) self->close();
  });
}

void Session::do_read() {
  if (registry_->draining) return close();
  header_parser_.emplace();
  header_parser_->header_limit(static_cast<std::uint32_t>(ctx_->config->max_header_bytes));
  // Beast checks a Content-Length against the limit when the head completes, so it must be
  // set here already (the body parsers below enforce it again for chunked bodies).
  header_parser_->body_limit(ctx_->max_body_bytes);
  parser_.reset();
  file_parser_.reset();
  body_file_.reset();
  if (buffer_.size() > 0) return read_request();  // a pipelined request is already here
  idle_ = true;
  const auto& cfg = *ctx_->config;
  stream_.expires_after(std::chrono::seconds(first_request_ ? cfg.header_timeout : cfg.keep_alive_timeout));
  stream_.async_read_some(buffer_.prepare(4096), beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(beast::error_code ec, std::size_t n) {
  if (ec) return close();  // idle timeout, peer closed, or drain
  buffer_.commit(n);
  read_request();
}

void Session::read_request() {
  idle_ = false;
  // SIPI's route label for a request refused before it is routed (a bad or oversized head).
  http_route_ = "/{*rest}";
  // The whole head must arrive within header_timeout, however slowly the client trickles it.
  stream_.expires_after(std::chrono::seconds(ctx_->config->header_timeout));
  bhttp::async_read_header(stream_, buffer_, *header_parser_,
                           beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(beast::error_code ec, std::size_t) {
  if (ec) return fail_read(ec);
  const std::uint64_t limit = ctx_->max_body_bytes;
  auto ctype = header_parser_->get()[bhttp::field::content_type];
  bool multipart = ctype.starts_with("multipart/form-data") && !header_parser_->is_done();
  // Uploads may take long; the head already arrived in time.
  stream_.expires_after(std::chrono::seconds(std::max(ctx_->config->write_timeout, 300)));
  if (multipart) {
    auto tmp = TempFile::create(ctx_->config->tmpdir);
    if (!tmp) {
      keep_alive_ = false;
      current_ = RequestView{};
      return send(error_response(tmp.error()));
    }
    body_file_ = *tmp;
    file_parser_.emplace(std::move(*header_parser_));
    file_parser_->body_limit(limit);
    beast::error_code oec;
    file_parser_->get().body().open(body_file_->path().c_str(), beast::file_mode::write, oec);
    if (oec) return fail_read(oec);
    return bhttp::async_read(stream_, buffer_, *file_parser_,
                             beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }
  parser_.emplace(std::move(*header_parser_));
  parser_->body_limit(limit);
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::fail_read(beast::error_code ec) {
  started_ = std::chrono::steady_clock::now();
  first_request_ = false;
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return close();
  }
  if (ec) {
    Status st = Status::bad_request;
    std::string detail = "http.malformed";
    if (ec == bhttp::error::header_limit) {
      st = Status::header_fields_too_large;
      detail = "http.header_limit";
    } else if (ec == bhttp::error::body_limit) {
      st = Status::payload_too_large;
      detail = "http.body_limit";
    }
    keep_alive_ = false;
    current_ = RequestView{};
    return send(error_response({st, detail, ec.message()}));
  }
}

void Session::on_read(beast::error_code ec, std::size_t) {
  if (ec) return fail_read(ec);
  started_ = std::chrono::steady_clock::now();
  first_request_ = false;
  if (file_parser_) {
    auto req = file_parser_->release();
    req.body().close();
    take_request(req);
    current_.body_file = std::move(body_file_);
  } else {
    auto req = parser_->release();
    take_request(req);
    current_.body = std::move(req.body());
  }
  dispatch_request();
}

template <class Request>
void Session::take_request(Request& req) {
  keep_alive_ = req.keep_alive() && !registry_->draining;
  current_ = RequestView{};
  current_.method = std::string(req.method_string());
  current_.target = std::string(req.target());
  current_.client_ip = client_ip_;
  current_.client_port = client_port_;
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    current_.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  // Forwarding headers only from the proxies the operator trusts (core/networks.h).
  if (!ctx_->trusted_proxies.empty() && !in_networks(ctx_->trusted_proxies, client_ip_)) {
    std::erase_if(current_.headers, [](const auto& h) { return h.first.starts_with("x-forwarded-"); });
  }
}

void Session::dispatch_request() {
  Job job = route(ctx_, current_);
  route_ = job.route;
  http_route_ = http_route_template(*ctx_, current_, job);
  // The job owns the body now; the session keeps only what the access log needs, so an
  // uploaded body file is removed as soon as the job is done with it.
  current_.body.clear();
  current_.body_file.reset();
  if (!job.on_worker) return send(job.run());
  // Decoding happens on the worker pool; the response comes back to this connection's strand,
  // so a slow reader only holds a socket, never a worker.
  auto reply = [self = shared_from_this()](Response r) {
    net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
  };
  workers_.submit(
      job.lane,
      [reply, run = std::move(job.run)]() mutable {
        Response r;
        try {
          r = run();
        } catch (const std::exception& e) {
          r = error_response(Error::internal("internal.exception", e.what()));
          log::error("unhandled exception", {{"error", e.what()}});
        } catch (...) {
          r = error_response(Error::internal("internal.exception"));
        }
        // Release what the job holds (an uploaded body's temporary file) before the client can
        // see the response.
        run = nullptr;
        reply(std::move(r));
      },
      [reply](const char* reason, int retry_after_s) {
        Response r = error_response({Status::unavailable, std::string("admission.") + reason, {}});
        r.set("Retry-After", std::to_string(retry_after_s));  // from the lane's drain rate
        reply(std::move(r));
      });
}

template <class Message>
void Session::write(std::shared_ptr<Message> msg) {
  stream_.expires_after(std::chrono::seconds(ctx_->config->write_timeout));
  bhttp::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, std::size_t n) {
    self->on_write(msg->need_eof(), ec, n);
  });
}

// The request target for the log: query values may carry tokens, so only their names are kept.
std::string loggable_target(const std::string& target) {
  auto q = target.find('?');
  std::string out = target.substr(0, std::min<std::size_t>(q, 512));
  if (q == std::string::npos) return out;
  std::string_view query(target);
  query.remove_prefix(q + 1);
  char sep = '?';
  while (!query.empty() && out.size() < 1024) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    std::string_view name = part.substr(0, part.find('='));
    out += sep;
    out += std::string(name.substr(0, 64));
    if (name.size() < part.size()) out += "=...";
    sep = '&';
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

void Session::access_log(const Response& r, std::int64_t bytes, double ms) {
  metrics().request(route_, to_int(r.status), bytes > 0 ? static_cast<std::uint64_t>(bytes) : 0, ms / 1000.0);
  metrics().sipi_request(http_route_, current_.method, to_int(r.status), ms / 1000.0);
  log::Fields f{{"method", current_.method}, {"path", loggable_target(current_.target)},
                {"status", log::num(static_cast<long long>(to_int(r.status)))},
                {"bytes", log::num(static_cast<long long>(bytes))}, {"ms", log::num(ms)},
                {"client", client_ip_}, {"detail", r.detail}};
  // Server errors, and a decode refused by the memory budget (413: what it needed, of how much).
  if ((to_int(r.status) >= 500 || r.status == Status::payload_too_large) && !r.log_message.empty()) {
    f.emplace_back("error", r.log_message);
  }
  // Shedding (503) is deliberate: a warning, not an error.
  const int st = to_int(r.status);
  log::write(st == 503 ? log::Level::warning : st >= 500 ? log::Level::error : log::Level::info, "request", f);
}

void Session::send(Response r) {
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  const bool head = current_.is_head();
  std::int64_t bytes = r.file.empty() ? static_cast<std::int64_t>(r.body.size()) : -1;

  auto fill = [&](auto& res) {
    res.version(11);
    res.result(static_cast<unsigned>(to_int(r.status)));
    res.set(bhttp::field::server, "sipi/" SIPI_VERSION);
    res.set(bhttp::field::date, http_date(std::time(nullptr)));
    for (auto& [k, v] : r.headers) res.insert(k, v);
    res.keep_alive(keep_alive_);
  };

  if (r.spooled && !head) {
    auto msg = std::make_shared<bhttp::response<SpooledBodyType>>();
    fill(*msg);
    msg->body() = r.spooled;
    msg->prepare_payload();
    access_log(r, static_cast<std::int64_t>(r.spooled->length), ms);
    return write(std::move(msg));
  }
  if (!r.file.empty() && !head) {
    bhttp::file_body::value_type body;
    beast::error_code ec;
    body.open(r.file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      r = error_response(Error::not_found("file.not_found", ec.message()));
    } else {
      auto msg = std::make_shared<bhttp::response<bhttp::file_body>>();
      fill(*msg);
      msg->body() = std::move(body);
      msg->prepare_payload();
      access_log(r, static_cast<std::int64_t>(msg->body().size()), ms);
      return write(std::move(msg));
    }
  }

  auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
  fill(*msg);
  if (r.status == Status::not_modified || r.status == Status::no_content) {
    // no body, no Content-Length (RFC 9110 §8.6)
  } else if (head) {
    if (r.content_length >= 0) msg->content_length(static_cast<std::uint64_t>(r.content_length));
    else if (!r.body.empty()) msg->content_length(r.body.size());
  } else {
    msg->body() = std::move(r.body);
    msg->prepare_payload();
  }
  access_log(r, head ? 0 : bytes, ms);
  write(std::move(msg));
}

void Session::on_write(bool close_after, beast::error_code ec, std::size_t) {
  if (ec || close_after || !keep_alive_) return close();
  do_read();
}

void Session::close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

}  // namespace sipi::http
