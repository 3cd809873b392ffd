#include "cli/convert.h"

#include <sys/stat.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "convert/describe.h"

namespace sipi::cli {
using convert::Target;

namespace {

struct Failure {
  std::string phase;  // cli_args | read | convert | write
  std::string message;
  nlohmann::ordered_json image = nullptr;  // the input as read, once it was
};

std::string one_line(std::string s) {
  for (auto& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string requested_format(const ConvertOptions& o) {
  auto t = convert::target_from(convert::format_text(o));
  return t ? convert::target_name(*t) : "";
}

std::int64_t file_size_or_zero(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<std::int64_t>(st.st_size) : 0;
}

int report_failure(const ConvertOptions& o, const Failure& f) {
  if (o.json) {
    nlohmann::ordered_json j;
    j["status"] = "error";
    j["mode"] = "cli";
    j["phase"] = f.phase;
    j["error_message"] = one_line(f.message);
    j["input_file"] = o.input;
    j["output_file"] = o.output;
    // As SIPI's reports (DSP's ingest requires these keys on every error): the format asked
    // for and the size of the input file.
    j["output_format"] = requested_format(o);
    j["file_size_bytes"] = file_size_or_zero(o.input);
    if (!f.image.is_null() && f.phase != "cli_args") j["image"] = f.image;
    std::cout << j.dump() << std::endl;
  }
  static const std::map<std::string, std::string> kVerb = {
      {"cli_args", "in arguments"}, {"read", "reading image"}, {"convert", "converting image"}, {"write", "writing image"}};
  std::cerr << "Error " << kVerb.at(f.phase) << ": " << one_line(f.message) << std::endl;
  return 1;
}

// The phase SIPI names for a converter error, and whether the report describes the input.
Failure failure(const Error& e, const nlohmann::ordered_json& input) {
  if (e.detail == "read.undecodable") return {"read", e.message};
  return {e.detail, e.message, e.detail == "cli_args" ? nlohmann::ordered_json(nullptr) : input};
}

}  // namespace

int run_convert(const ConvertOptions& o) {
  auto plan = convert::check(o);
  if (!plan) return report_failure(o, failure(plan.error(), nullptr));
  auto src = convert::read(o);
  if (!src) return report_failure(o, failure(src.error(), nullptr));
  auto out = convert::transform(o, *plan, *src);
  if (!out) return report_failure(o, failure(out.error(), src->described));
  auto written = convert::write(o, *src, *out);
  if (!written) return report_failure(o, failure(written.error(), src->described));
  for (const auto& w : out->warnings) std::cerr << "Warning: " << one_line(w) << std::endl;
  if (o.json) {
    nlohmann::ordered_json j;
    j["status"] = "ok";
    j["mode"] = "cli";
    j["input_file"] = o.input;
    j["output_file"] = o.output;
    j["output_format"] = convert::target_name(out->target);
    // SIPI reports the input's size here (the output's is on disc for whoever wants it).
    j["file_size_bytes"] = src->bytes;
    j["image"] = convert::describe_image(out->image, out->orientation);
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

}  // namespace sipi::cli
