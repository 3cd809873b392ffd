#include "metadata/jp2_boxes.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace sipi::metadata::jp2 {
namespace {

std::uint64_t be(const std::string& s, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + static_cast<std::size_t>(i)]);
  return v;
}

struct Box {
  std::size_t start = 0, header = 0, length = 0;  // length includes the header
  std::string type;
};

// Top-level boxes; stops at the first malformed one.
std::vector<Box> boxes(const std::string& f) {
  std::vector<Box> out;
  std::size_t off = 0;
  while (off + 8 <= f.size()) {
    Box b;
    b.start = off;
    b.header = 8;
    std::uint64_t len = be(f, off, 4);
    b.type = f.substr(off + 4, 4);
    if (len == 1) {
      if (off + 16 > f.size()) break;
      len = be(f, off + 8, 8);
      b.header = 16;
    } else if (len == 0) {
      len = f.size() - off;
    }
    if (len < b.header) break;
    if (off + len > f.size()) {  // a file read only in part: keep the box, truncated, and stop
      b.length = f.size() - off;
      out.push_back(b);
      break;
    }
    b.length = static_cast<std::size_t>(len);
    out.push_back(b);
    off += b.length;
  }
  return out;
}

}  // namespace

std::optional<std::string> find_uuid_box(const std::string& f, const Uuid& id) {
  for (const auto& b : boxes(f)) {
    if (b.type == "uuid" && b.length >= b.header + 16 &&
        std::memcmp(f.data() + b.start + b.header, id.data(), 16) == 0) {
      return f.substr(b.start + b.header + 16, b.length - b.header - 16);
    }
  }
  return std::nullopt;
}

std::string insert_uuid_box_after_header(const std::string& f, const Uuid& id, const std::string& payload) {
  auto bs = boxes(f);
  if (bs.empty() || bs[0].type != "jP  ") return {};
  std::size_t at = 0;
  for (const auto& b : bs) {
    if (b.type == "jP  " || b.type == "ftyp" || b.type == "jp2h") at = b.start + b.length;
    if (b.type == "jp2h") break;
  }
  std::size_t len = 8 + 16 + payload.size();
  std::string box;
  for (int i = 3; i >= 0; --i) box.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  box += "uuid";
  box.append(reinterpret_cast<const char*>(id.data()), 16);
  box += payload;
  return f.substr(0, at) + box + f.substr(at);
}

ColourSpec colour_spec(const std::string& f) {
  ColourSpec out;
  for (const auto& b : boxes(f)) {
    if (b.type != "jp2h") continue;
    std::string inner = f.substr(b.start + b.header, b.length - b.header);
    for (const auto& c : boxes(inner)) {
      if (c.type != "colr" || c.length < c.header + 3) continue;
      std::size_t body = c.start + c.header;
      if (inner[body] == 1 && c.length >= c.header + 7) out.enumcs = static_cast<unsigned>(be(inner, body + 3, 4));
      if (inner[body] == 2) out.icc = inner.substr(body + 3, c.length - c.header - 3);
      return out;
    }
  }
  return out;
}

std::string read_header(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  // A large ICC profile can make jp2h longer than the first read: read on to its end.
  for (const auto& b : boxes(head)) {
    if (b.type != "jp2h") continue;
    std::uint64_t declared = be(head, b.start, 4);
    std::uint64_t end = b.start + declared;
    if (declared > 8 && end > head.size() && end <= 16 * 1024 * 1024) {
      std::string more(static_cast<std::size_t>(end - head.size()), '\0');
      in.read(more.data(), static_cast<std::streamsize>(more.size()));
      head.append(more, 0, static_cast<std::size_t>(in.gcount()));
    }
    break;
  }
  return head;
}

std::size_t enumerated_colour_space_offset(const std::string& f) {
  for (const auto& b : boxes(f)) {
    if (b.type != "jp2h") continue;
    std::string inner = f.substr(b.start + b.header, b.length - b.header);
    for (const auto& c : boxes(inner)) {
      if (c.type == "colr" && c.length >= c.header + 7 && inner[c.start + c.header] == 1) {
        return b.start + b.header + c.start + c.header + 3;
      }
    }
  }
  return 0;
}

std::vector<std::string> codestream_comments(const std::string& f) {
  std::vector<std::string> out;
  std::size_t off = 0, end = f.size();
  for (const auto& b : boxes(f)) {
    if (b.type == "jp2c") {
      off = b.start + b.header;
      end = b.start + b.length;
      break;
    }
  }
  if (off + 2 > end || static_cast<unsigned char>(f[off]) != 0xff || static_cast<unsigned char>(f[off + 1]) != 0x4f) {
    return out;
  }
  off += 2;  // SOC
  while (off + 4 <= end) {
    unsigned marker = static_cast<unsigned>(be(f, off, 2));
    if (marker == 0xff90 || marker == 0xff93) break;  // SOT / SOD: end of the main header
    std::size_t len = static_cast<std::size_t>(be(f, off + 2, 2));
    if (len < 2 || off + 2 + len > end) break;
    if (marker == 0xff64 && len >= 4) out.push_back(f.substr(off + 6, len - 4));  // COM: Rcom, text
    off += 2 + len;
  }
  return out;
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool write_file(const std::filesystem::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

}  // namespace sipi::metadata::jp2
