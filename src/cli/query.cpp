#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "convert/describe.h"
#include "metadata/icc.h"
#include "metadata/metadata.h"
#include "source/codec.h"

namespace sipi::cli {

using namespace sipi::convert;  // describe_image, pixel_digest, …


int run_query(const std::string& path, bool json) {
  auto shape = source::probe(path, 0);
  if (!shape) {
    std::cerr << "Error reading image: " << path << ": not a readable image" << std::endl;
    return 1;
  }
  auto img = source::load_level(path, *shape, 0, true);
  if (!img) {
    std::cerr << "Error reading image: " << path << ": not a readable image" << std::endl;
    return 1;
  }
  auto meta = metadata::read(path);
  nlohmann::ordered_json j;
  j["file"] = path;
  j["format"] = std::string(source::codec_for(shape->format).name());
  j["image"] = describe_image(*img, meta.orientation());
  j["orientation_value"] = meta.orientation();
  j["icc_profile_description"] = metadata::describe_profile(icc_bytes(*img));
  j["pages"] = shape->pages;
  auto levels = nlohmann::ordered_json::array();
  for (const auto& l : shape->levels) levels.push_back({l.size.w, l.size.h});
  j["levels"] = levels;
  j["tile"] = {shape->tile.w, shape->tile.h};
  auto fields = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metadata::summary(meta)) fields[k] = v;
  j["metadata"] = fields;
  if (json) {
    std::cout << j.dump(2) << std::endl;
    return 0;
  }
  const auto& im = j["image"];
  const int orientation = meta.orientation();
  // The width and height as shown (after the orientation), in the "nx = W" / "ny = H" lines
  // that SIPI prints and DSP's ingest parses; then the orientation line it tests.
  const bool turned = orientation >= 5 && orientation <= 8;
  const int nx = turned ? img->height() : img->width(), ny = turned ? img->width() : img->height();
  std::cout << "File:        " << path << "\n"
            << "Format:      " << j["format"].get<std::string>() << "\n"
            << "Size:        " << im["width"] << " x " << im["height"] << "\n"
            << "Channels:    " << im["channels"] << " (" << im["colorspace"].get<std::string>() << ", "
            << im["bps"] << " bit)\n"
            << "ICC profile: " << im["icc_profile_type"].get<std::string>();
  if (const auto d = j["icc_profile_description"].get<std::string>(); !d.empty()) std::cout << " (" << d << ")";
  std::cout << "\n"
            << "Orientation: " << im["orientation"].get<std::string>() << " (" << orientation << ")\n"
            << "Pages:       " << shape->pages << "\n"
            << "Levels:      ";
  for (const auto& l : shape->levels) std::cout << l.size.w << "x" << l.size.h << " ";
  std::cout << "\nTiles:       " << (shape->tile.w ? std::to_string(shape->tile.w) + "x" + std::to_string(shape->tile.h) : "none")
            << "\n";
  std::cout << "nx = " << nx << "\n"
            << "ny = " << ny << "\n"
            << "nc = " << im["channels"] << "\n"
            << "bps = " << im["bps"] << "\n";
  for (const auto& [k, v] : metadata::summary(meta)) {
    if (k != "Exif.Image.Orientation") std::cout << k << ": " << v << "\n";
  }
  // One orientation line, the value last: ingest reads the line's last character (a TIFF's
  // own orientation tag counts too).
  std::cout << "Exif.Image.Orientation = " << orientation << "\n";
  return 0;
}

}  // namespace sipi::cli
