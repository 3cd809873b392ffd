// What a conversion is asked to do: `sipi convert`'s options, also filled by Lua's img:write
// for service files.
#pragma once

#include <string>
#include <vector>

#include "encode/jp2_writer.h"

namespace sipi::convert {

// What the output is for: a plain conversion; a service file (lossless JPEG 2000 or pyramidal
// TIFF that carries the Essentials packet); an access file (made from a service file, without
// the packet, with the packet's ICC profile restored).
enum class Role { plain, service, access };

struct ConvertOptions {
  Role role = Role::plain;
  std::string input, output;
  std::string format;              // -F: jpg|jpeg|tif|tiff|png|webp|jp2|jpx|j2k; "" = from extension
  std::vector<int> region;         // -r x y w h
  std::string size;                // -s IIIF size
  int scale = 0;                   // -S percent
  int reduce = 0;                  // -R n: 1/2^n
  double rotate = 0;               // -o degrees clockwise
  std::string mirror = "none";     // -m none|horizontal|vertical
  int quality = 0;                 // -q 1..100; 0 = format default
  std::string icc;                 // -I none|sRGB|AdobeRGB|GRAY; "" = keep
  bool topleft = false;
  bool skipmeta = false;
  int pagenum = 0;                 // -n 1-based page of a multi-page TIFF
  std::string watermark;           // -w grey or RGB(A) image blended in
  bool json = false;
  bool tiff_pyramid = false;       // --Ctiff_pyramid
  encode::Jp2Params jp2;
  // Service files made on behalf of someone else (Lua's img:write): the master's real name
  // and type.
  std::string original_name, original_mime;
};

}  // namespace sipi::convert
