#include "source/jp2/index.h"

#include <algorithm>
#include <cstring>

#include "source/jp2/file.h"

namespace sipi::source {
namespace {

using jp2::be16;
using jp2::be32;
using jp2::be64;
using jp2::File;

constexpr std::uint64_t kMaxHeader = 16 << 20;

// jp2h's sub-boxes: true when nothing in them needs the JP2 decoder's handling.
bool jp2h_supported(const std::string& h) {
  std::size_t pos = 0;
  while (pos + 8 <= h.size()) {
    const auto* b = reinterpret_cast<const unsigned char*>(h.data() + pos);
    std::uint64_t len = be32(b);
    std::string type(h.data() + pos + 4, 4);
    if (len < 8 || pos + len > h.size()) return false;
    if (type == "pclr" || type == "cmap") return false;
    if (type == "colr" && len >= 15 && b[8] == 1) {
      std::uint32_t cs = be32(b + 11);
      if (cs != 16 && cs != 17 && cs != 12) return false;  // sRGB, grey, CMYK (sYCC etc. need converting)
    }
    pos += len;
  }
  return true;
}

// The codestream's extent: the jp2c box of a JP2/JPX file, or the whole of a raw codestream.
bool find_codestream(const File& f, std::uint64_t& start, std::uint64_t& end) {
  const std::uint64_t size = f.size();
  unsigned char m[16];
  if (!f.read(0, m, 4)) return false;
  if (m[0] == 0xFF && m[1] == 0x4F) {
    start = 0;
    end = size;
    return true;
  }
  std::uint64_t pos = 0;
  for (int boxes = 0; pos + 8 <= size && boxes < 10000; ++boxes) {
    if (!f.read(pos, m, 8)) return false;
    std::uint64_t len = be32(m), hdr = 8;
    std::string type(reinterpret_cast<char*>(m + 4), 4);
    if (len == 1) {
      if (!f.read(pos + 8, m + 8, 8)) return false;
      len = be64(m + 8);
      hdr = 16;
    } else if (len == 0) {
      len = size - pos;
    }
    if (len < hdr || pos + len > size) return false;
    if (type == "jp2h") {
      if (len - hdr > kMaxHeader) return false;
      std::string h(len - hdr, '\0');
      if (!f.read(pos + hdr, h.data(), h.size()) || !jp2h_supported(h)) return false;
    } else if (type == "jp2c") {
      start = pos + hdr;
      end = pos + len;
      return true;
    }
    pos += len;
  }
  return false;
}

}  // namespace

std::size_t Jp2Index::bytes() const {
  std::size_t b = sizeof(*this) + main_header.size();
  for (const auto& t : tiles) b += sizeof(t) + t.size() * sizeof(Part);
  return b;
}

std::optional<Jp2Index> index_jp2(const std::filesystem::path& path) {
  File f(path);
  if (f.fd < 0) return std::nullopt;
  std::uint64_t cs = 0, cs_end = 0;
  if (!find_codestream(f, cs, cs_end)) return std::nullopt;

  // Main header: marker segments from SOC to the first SOT. TLM, PLM and PPM describe every
  // tile-part in order; they would not match a stream that holds only some tiles, so TLM and
  // PLM (optional) are left out and PPM files take the full decoder path.
  Jp2Index ix;
  unsigned char m[12];
  if (!f.read(cs, m, 2) || m[0] != 0xFF || m[1] != 0x4F) return std::nullopt;
  ix.main_header.assign("\xFF\x4F", 2);
  std::uint64_t pos = cs + 2;
  bool siz = false;
  for (;;) {
    if (pos + 4 > cs_end || pos - cs > kMaxHeader || !f.read(pos, m, 4) || m[0] != 0xFF) return std::nullopt;
    unsigned marker = m[1];
    if (marker == 0x90) break;  // SOT
    std::uint64_t len = be16(m + 2);
    if (len < 2 || pos + 2 + len > cs_end) return std::nullopt;
    std::string seg(2 + len, '\0');
    if (!f.read(pos, seg.data(), seg.size())) return std::nullopt;
    if (marker == 0x60) return std::nullopt;  // PPM
    if (marker == 0x51) {                     // SIZ
      if (len < 38) return std::nullopt;
      const auto* s = reinterpret_cast<const unsigned char*>(seg.data());
      ix.x_siz = be32(s + 6);
      ix.y_siz = be32(s + 10);
      std::uint32_t xo = be32(s + 14), yo = be32(s + 18);
      ix.x_tsiz = be32(s + 22);
      ix.y_tsiz = be32(s + 26);
      ix.xt_osiz = be32(s + 30);
      ix.yt_osiz = be32(s + 34);
      std::uint32_t comps = be16(s + 38);
      if (xo != 0 || yo != 0 || comps < 1 || comps > 4 || len < 38 + 3 * comps || ix.x_tsiz == 0 ||
          ix.y_tsiz == 0 || ix.xt_osiz >= ix.x_siz || ix.yt_osiz >= ix.y_siz) {
        return std::nullopt;
      }
      for (std::uint32_t c = 0; c < comps; ++c) {
        const auto* cp = s + 40 + 3 * c;
        if ((cp[0] & 0x7F) + 1 > 16 || cp[1] != 1 || cp[2] != 1) return std::nullopt;
        ix.precision = std::max(ix.precision, (cp[0] & 0x7F) + 1);
      }
      ix.components = static_cast<int>(comps);
      siz = true;
    }
    // HTJ2K: a CAP marker (Part 15 capabilities), or the HT bit in COD's code-block style.
    if (marker == 0x50 || (marker == 0x52 && len >= 10 && (static_cast<unsigned char>(seg[12]) & 0x40))) {
      ix.high_throughput = true;
    }
    // COC, RGN, POC, PPT: markers OpenJPH 0.9 skips (ht_region.h).
    if (marker == 0x53 || marker == 0x5E || marker == 0x5F || marker == 0x61) ix.openjph_main_header = false;
    if (marker != 0x55 && marker != 0x57) ix.main_header += seg;  // not TLM, PLM
    pos += 2 + len;
  }
  if (!siz) return std::nullopt;
  ix.tiles_across = (ix.x_siz - ix.xt_osiz + ix.x_tsiz - 1) / ix.x_tsiz;
  ix.tiles_down = (ix.y_siz - ix.yt_osiz + ix.y_tsiz - 1) / ix.y_tsiz;
  const std::uint64_t ntiles = std::uint64_t{ix.tiles_across} * ix.tiles_down;
  if (ntiles == 0 || ntiles > (1u << 20)) return std::nullopt;
  ix.tiles.resize(ntiles);

  // Tile-parts: each SOT gives its tile and its length (Psot, 0 = up to EOC).
  for (std::uint64_t parts = 0; pos + 2 <= cs_end; ++parts) {
    if (parts > 4 * ntiles + 1024 || !f.read(pos, m, 2)) return std::nullopt;
    if (m[0] == 0xFF && m[1] == 0xD9) break;  // EOC
    if (pos + 12 > cs_end || !f.read(pos, m, 12) || m[0] != 0xFF || m[1] != 0x90 || be16(m + 2) != 10) {
      return std::nullopt;
    }
    std::uint32_t tile = be16(m + 4);
    std::uint64_t len = be32(m + 6);
    if (len == 0) {
      len = cs_end - pos;
      unsigned char e[2];
      if (f.read(cs_end - 2, e, 2) && e[0] == 0xFF && e[1] == 0xD9) len -= 2;
    }
    if (tile >= ntiles || len < 14 || pos + len > cs_end) return std::nullopt;
    ix.tiles[tile].push_back({pos, len});
    pos += len;
  }
  return ix;
}

}  // namespace sipi::source
