// A Beast body that sends a SpooledBody (core/spooled.h): `length` bytes from `offset` of an
// open file, read with pread a piece at a time, so a 200 MB output never sits in memory and
// several responses can share one descriptor.
#pragma once

#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/optional.hpp>
#include <cerrno>
#include <memory>

#include "core/spooled.h"

namespace sipi::http {

struct SpooledBodyType {
  using value_type = std::shared_ptr<const SpooledBody>;

  static std::uint64_t size(const value_type& v) { return v ? v->length : 0; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec) {
      ec = {};
      done_ = 0;
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      const std::uint64_t left = body_->length - done_;
      if (left == 0) return boost::none;
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof buf_));
      ssize_t n;
      do {
        n = ::pread(body_->fd, buf_, want, static_cast<off_t>(body_->offset + done_));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {  // the file shrank or the disk failed: end the response early
        ec = boost::beast::error_code(n < 0 ? errno : EIO, boost::system::generic_category());
        return boost::none;
      }
      done_ += static_cast<std::uint64_t>(n);
      return {{const_buffers_type(buf_, static_cast<std::size_t>(n)), done_ < body_->length}};
    }

   private:
    const value_type& body_;
    std::uint64_t done_ = 0;
    char buf_[64 * 1024];
  };
};

}  // namespace sipi::http
