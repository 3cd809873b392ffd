// The wire between the server and a decode helper: one socket pair (SOCK_SEQPACKET, so a
// message arrives whole or not at all) for small JSON messages, and one memfd that the helper
// fills with the bulk result (encoded image, pixels, tile tables) before it answers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sipi::isolation {

// Largest control message; bulk data goes through the memfd.
constexpr std::size_t kMaxMessage = 256 * 1024;

// Sends one message. False when the peer is gone.
bool send_message(int fd, std::string_view msg);

// Receives one message; nothing on EOF, error or timeout (`timed_out` tells which).
std::optional<std::string> receive_message(int fd, std::chrono::milliseconds timeout, bool& timed_out);

// The helper's side of the memfd: replaces its content with `data`.
bool write_payload(int memfd, std::string_view data);
// The server's side: `n` bytes from the start. Shrinks the file afterwards when it is large,
// so a helper that once returned 200 MB does not keep that memory.
std::optional<std::string> read_payload(int memfd, std::size_t n);

}  // namespace sipi::isolation
