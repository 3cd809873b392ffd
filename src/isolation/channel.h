// The wire between the server and a decode helper: one socket pair (SOCK_SEQPACKET, so a
// message arrives whole or not at all) for small messages (JSON, or a binary record for renders),
// and one memfd that the helper fills with the bulk result (encoded image, pixels, tile tables)
// before it answers. The memfd's first kWindow bytes are mapped by both processes, so an answer that fits (every tile
// and thumbnail) crosses with one copy in and one copy out and no system call; larger ones go
// through pwrite/pread. Every system call here costs: the round trip is paid on every tile.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sipi::isolation {

// Largest control message; bulk data goes through the memfd.
constexpr std::size_t kMaxMessage = 256 * 1024;
// The mapped part of the memfd. Only pages an answer touched are memory, so a helper holds at
// most this much of its largest recent answer.
constexpr std::size_t kWindow = 8u << 20;

// Message shapes. A job is JSON text ({"op": …}) or, for the hot path, a binary job: kBinaryJob,
// the op's name, '\0', then bytes the op defines. An answer starts with kAnswerOk and the payload
// size (8 bytes), then the meta as JSON text (nothing = {}); or with kAnswerError and the error
// as JSON text. Parsing a JSON job and answer per tile cost ~18 µs, 2 % of a Deflate tile.
constexpr char kBinaryJob = '\x01', kAnswerOk = 'A', kAnswerError = 'E';

// Sends one message, with descriptor `pass` attached when it is not -1 (SCM_RIGHTS: a render's
// spool file, service/spool.h). False when the peer is gone.
bool send_message(int fd, std::string_view msg, int pass = -1);

// Receives one message within `timeout`; nothing on EOF, error or timeout (`timed_out` tells
// which).
std::optional<std::string> receive_message(int fd, std::chrono::milliseconds timeout, bool& timed_out);
// The same with no poll first: blocks forever, or until the socket's SO_RCVTIMEO.
std::optional<std::string> receive_message(int fd, bool& timed_out);
// The same, also taking a descriptor sent with the message (-1 when none; the caller closes it).
// Only the helper side accepts descriptors: the server's receives drop any a helper sends.
std::optional<std::string> receive_message(int fd, bool& timed_out, int& passed);

// One helper's memfd as seen by one side. The server creates it (sized to the window and sealed
// so that nobody can shrink it: a helper cannot make the server's mapping fault) and maps it
// read-only; the helper attaches to the descriptor it inherited and maps it read-write.
class PayloadArea {
 public:
  static std::optional<PayloadArea> create();
  static std::optional<PayloadArea> attach(int fd);
  PayloadArea(PayloadArea&& o) noexcept;
  PayloadArea& operator=(PayloadArea&& o) noexcept;
  PayloadArea(const PayloadArea&) = delete;
  PayloadArea& operator=(const PayloadArea&) = delete;
  ~PayloadArea();

  int fd() const { return fd_; }
  // The helper's side: replaces the content with `data`.
  bool write(std::string_view data);
  // The server's side: `n` bytes from the start. Pages beyond the window are freed afterwards,
  // so a helper that once returned 200 MB does not keep that memory.
  std::optional<std::string> read(std::size_t n);

 private:
  PayloadArea(int fd, void* map) : fd_(fd), map_(static_cast<char*>(map)) {}
  void reset();
  int fd_ = -1;
  char* map_ = nullptr;
};

}  // namespace sipi::isolation
