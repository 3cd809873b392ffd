#include "http/multipart.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace sipi::http {

Result<std::shared_ptr<TempFile>> TempFile::create(const std::filesystem::path& dir) {
  std::string tmpl = (dir / "sipi-upload-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Error::internal("http.tempfile", "cannot create a file in " + dir.string());
  ::close(fd);
  return std::shared_ptr<TempFile>(new TempFile(tmpl));
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

std::string multipart_boundary(std::string_view ct) {
  if (!ct.starts_with("multipart/form-data")) return {};
  auto pos = ct.find("boundary=");
  if (pos == std::string_view::npos) return {};
  std::string_view b = ct.substr(pos + 9);
  b = b.substr(0, b.find(';'));
  if (b.size() >= 2 && b.front() == '"' && b.back() == '"') b = b.substr(1, b.size() - 2);
  if (b.empty() || b.size() > 200) return {};
  return std::string(b);
}

namespace {

struct Mapped {
  const char* data = nullptr;
  std::size_t size = 0;
  ~Mapped() {
    if (data && size) ::munmap(const_cast<char*>(data), size);
  }
};

// value of `name="…"` in a Content-Disposition header
std::string param(std::string_view header, std::string_view name) {
  std::string key = std::string(name) + "=\"";
  std::size_t pos = 0;
  while ((pos = header.find(key, pos)) != std::string_view::npos) {
    if (pos == 0 || header[pos - 1] == ' ' || header[pos - 1] == ';') {
      auto start = pos + key.size();
      auto end = header.find('"', start);
      if (end == std::string_view::npos) return {};
      return std::string(header.substr(start, end - start));
    }
    pos += key.size();
  }
  return {};
}

bool has_param(std::string_view header, std::string_view name) {
  std::string key = std::string(name) + "=";
  auto pos = header.find(key);
  return pos != std::string_view::npos && (pos == 0 || header[pos - 1] == ' ' || header[pos - 1] == ';');
}

}  // namespace

Result<MultipartResult> parse_multipart(const std::filesystem::path& body, const std::string& boundary,
                                        const std::filesystem::path& tmpdir) {
  Mapped m;
  int fd = ::open(body.c_str(), O_RDONLY);
  if (fd < 0) return Error::internal("http.tempfile", "cannot read the body");
  struct stat st {};
  ::fstat(fd, &st);
  m.size = static_cast<std::size_t>(st.st_size);
  if (m.size > 0) {
    void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return Error::internal("http.tempfile", "cannot map the body");
    }
    m.data = static_cast<const char*>(p);
  }
  ::close(fd);
  std::string_view all(m.data ? m.data : "", m.size);
  const std::string delim = "--" + boundary;
  MultipartResult out;
  auto pos = all.find(delim);
  if (pos == std::string_view::npos) return Error::bad_request("http.multipart");
  pos += delim.size();
  while (true) {
    if (all.substr(pos, 2) == "--") return out;  // closing delimiter
    if (all.substr(pos, 2) != "\r\n") return Error::bad_request("http.multipart");
    pos += 2;
    auto head_end = all.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return Error::bad_request("http.multipart");
    std::string_view head = all.substr(pos, head_end - pos);
    auto data_start = head_end + 4;
    auto next = all.find("\r\n" + delim, data_start);
    if (next == std::string_view::npos) return Error::bad_request("http.multipart");
    std::string_view data = all.substr(data_start, next - data_start);
    std::string disposition, ctype = "application/octet-stream";
    std::size_t lp = 0;
    while (lp < head.size()) {
      auto le = head.find("\r\n", lp);
      std::string_view line = head.substr(lp, le == std::string_view::npos ? std::string_view::npos : le - lp);
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-disposition") disposition = std::string(value);
        if (name == "content-type") ctype = std::string(value);
      }
      if (le == std::string_view::npos) break;
      lp = le + 2;
    }
    std::string field = param(disposition, "name");
    if (field.empty()) return Error::bad_request("http.multipart");
    if (has_param(disposition, "filename")) {
      auto tmp = TempFile::create(tmpdir);
      if (!tmp) return tmp.error();
      std::ofstream f((*tmp)->path(), std::ios::binary);
      f.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!f) return Error::internal("http.tempfile", "cannot write an upload");
      out.files.push_back({field, param(disposition, "filename"), ctype, *tmp, data.size()});
    } else {
      out.fields.emplace_back(field, std::string(data));
    }
    pos = next + 2 + delim.size();
  }
}

}  // namespace sipi::http
