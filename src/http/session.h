// One HTTP/1.1 connection: reads a request (with header-size and time limits), routes it,
// hands blocking work to the worker pool, writes the response, and repeats while keep-alive.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "http/admission.h"
#include "http/message.h"

namespace sipi::http {

class Session;

// Live sessions, so that a drain can close idle ones and know when all are gone.
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& s);
  void remove(Session* s);
  std::size_t size();
  void drain_all();
  std::atomic<bool> draining{false};

 private:
  std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<const AppContext> ctx,
          Admission& workers, std::shared_ptr<SessionRegistry> registry);
  ~Session();
  void start();
  // Called on drain: closes the connection if it is waiting for a request, otherwise makes
  // the current response the last one.
  void drain();

 private:
  void do_read();
  void on_first_bytes(boost::beast::error_code ec, std::size_t n);
  void read_request();
  void on_header(boost::beast::error_code ec, std::size_t n);
  void on_read(boost::beast::error_code ec, std::size_t n);
  void fail_read(boost::beast::error_code ec);
  template <class Request>
  void take_request(Request& req);
  void dispatch_request();
  void send(Response r);
  void access_log(const Response& r, std::int64_t bytes, double ms);
  template <class Message>
  void write(std::shared_ptr<Message> msg);
  void on_write(bool close, boost::beast::error_code ec, std::size_t n);
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  // The head is read first; then the body goes to memory, or for multipart uploads straight
  // to a temporary file, so large uploads never sit in memory.
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::file_body>> file_parser_;
  std::shared_ptr<class TempFile> body_file_;
  std::shared_ptr<const AppContext> ctx_;
  Admission& workers_;
  std::shared_ptr<SessionRegistry> registry_;
  RequestView current_;
  bool keep_alive_ = false;
  bool first_request_ = true;
  bool idle_ = true;  // waiting for the first byte of a request
  std::chrono::steady_clock::time_point started_;
  std::string client_ip_;
  unsigned short client_port_ = 0;
  std::string route_ = "other";  // metrics label of the current request
  std::string http_route_;       // its SIPI route template (metrics), "" = not recorded
};

}  // namespace sipi::http
