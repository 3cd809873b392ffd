#include "cli/migrate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/temp_file.h"
#include "isolation/supervise.h"
#include "source/codec.h"

namespace sipi::cli {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::ordered_json;

// Options that change the pixels: with them an output cannot equal its source.
const std::vector<std::string> kPixelChanging = {"-r", "--region", "-s", "--size", "-S", "--scale", "-R", "--reduce",
                                                 "-o", "--rotate", "-m", "--mirror", "-I", "--icc", "-w", "--watermark",
                                                 "--topleft", "-q", "--quality", "--rates", "--qstep"};

std::int64_t mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// The images below `root`, sorted: regular files (no symbolic links, nothing hidden) whose
// magic bytes name a format sipi reads.
std::vector<fs::path> images_below(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end; it != end;
       it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    if (source::sniff(it->path())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Outcome {
  enum Kind { converted, skipped, failed } kind = failed;
  std::string message;
  json image;
};

struct Run {
  const MigrateOptions& o;
  std::vector<fs::path> files;
  std::atomic<std::size_t> next{0};
  std::mutex out_mu{};
  std::size_t done = 0, converted = 0, skipped = 0, failed = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool progress = false;

  fs::path output_of(const fs::path& in) const {
    fs::path rel = fs::relative(in, o.source);
    rel.replace_extension(o.extension);
    return o.target / rel;
  }

  Outcome convert_one(const fs::path& in, const fs::path& out, const fs::path& scratch) {
    Outcome r;
    const std::int64_t out_time = mtime_ns(out);
    if (out_time >= 0 && out_time >= mtime_ns(in)) return {Outcome::skipped, "up to date", {}};
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    std::vector<std::string> args{"sipi", "convert", in.string(), out.string(), "--json"};
    args.insert(args.end(), o.convert_args.begin(), o.convert_args.end());
    auto c = isolation::run_child(args, {true, ""});
    if (c.signal != 0) {
      fs::remove(temp_path_for(out, c.pid), ec);
      return {Outcome::failed, "the image decoder crashed (" + isolation::signal_name(c.signal) + ")", {}};
    }
    json report = json::parse(c.stdout_text, nullptr, false);
    if (c.exit_code != 0) {
      std::string why = report.is_object() ? report.value("error_message", std::string()) : std::string();
      if (why.empty()) why = c.stderr_text.substr(0, c.stderr_text.find('\n'));
      return {Outcome::failed, why, {}};
    }
    if (report.is_object() && report.contains("image")) r.image = report["image"];
    if (o.verify) {
      // compare writes diff.tif into its working directory: a scratch one per worker.
      auto v = isolation::run_child({"sipi", "compare", in.string(), out.string()}, {true, scratch.string()});
      fs::remove(scratch / "diff.tif", ec);
      if (v.signal != 0 || v.exit_code != 0) {
        fs::remove(out, ec);  // not what the source holds: made again by the next run
        std::string why = v.exit_code == 255 ? "the output's pixels differ from the source's" : "cannot compare the output";
        return {Outcome::failed, "verify: " + why, {}};
      }
    }
    r.kind = Outcome::converted;
    return r;
  }

  void report(const fs::path& in, const fs::path& out, const Outcome& r) {
    std::lock_guard lock(out_mu);
    ++done;
    (r.kind == Outcome::converted ? converted : r.kind == Outcome::skipped ? skipped : failed)++;
    if (o.json) {
      json j;
      j["status"] = r.kind == Outcome::converted ? "ok" : r.kind == Outcome::skipped ? "skipped" : "error";
      j["input_file"] = in.string();
      j["output_file"] = out.string();
      if (r.kind == Outcome::failed) j["error_message"] = r.message;
      if (o.verify && r.kind == Outcome::converted) j["verified"] = true;
      if (!r.image.is_null()) j["image"] = r.image;
      std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    } else if (r.kind == Outcome::failed) {
      if (progress) std::cerr << "\r\033[K";
      std::cerr << "Error converting " << in.string() << ": " << r.message << std::endl;
    }
    if (progress) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = s > 0 ? static_cast<double>(converted + failed) / s : 0;
      const std::size_t left = files.size() - done;
      char line[200];
      std::snprintf(line, sizeof line, "\r\033[K%zu/%zu (%zu %%): %zu converted, %zu up to date, %zu failed, %.1f files/s%s",
                    done, files.size(), files.empty() ? 100 : done * 100 / files.size(), converted, skipped, failed, rate,
                    rate > 0 && left > 0 ? (", about " + std::to_string(static_cast<long>(left / rate)) + " s left").c_str() : "");
      std::cerr << line << std::flush;
    }
  }

  void work() {
    char tmpl[] = "/tmp/sipi-migrate-XXXXXX";
    const fs::path scratch = o.verify && ::mkdtemp(tmpl) ? fs::path(tmpl) : fs::path();
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      const fs::path out = output_of(files[i]);
      report(files[i], out, convert_one(files[i], out, scratch));
    }
    std::error_code ec;
    if (!scratch.empty()) fs::remove_all(scratch, ec);
  }
};

}  // namespace

std::string migrate_options_from(const std::vector<std::string>& args, const std::string& source,
                                 const std::string& target, const std::string& format, bool ht, MigrateOptions& out) {
  std::error_code ec;
  if (!fs::is_directory(source, ec)) return "--recursive needs an input directory: " + source;
  out.source = fs::canonical(source, ec);
  out.target = fs::weakly_canonical(fs::absolute(target, ec), ec);
  const auto [a, b] = std::mismatch(out.source.begin(), out.source.end(), out.target.begin(), out.target.end());
  if (a == out.source.end()) return "the output directory must not be inside the input directory";
  std::string f = format;
  if (f.empty() && ht) f = "jp2";
  if (f == "jpeg") f = "jpg";
  if (f == "tiff") f = "tif";
  if (f == "jpx") f = "jp2";
  if (f.empty()) return "--recursive needs --format (or --htj2k): the outputs' type";
  out.extension = "." + f;
  // (The directory is made once the options are known to be good, at the end.)
  // convert's own options for each file: all but the directories and the migration's options.
  bool src_seen = false, dst_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& t = args[i];
    if (t == "--recursive" || t == "--verify" || t == "--json") continue;
    if (t == "--jobs" || t == "-j") {
      ++i;
      continue;
    }
    if (t.rfind("--jobs=", 0) == 0) continue;
    if (!src_seen && t == source) {
      src_seen = true;
      continue;
    }
    if (!dst_seen && t == target) {
      dst_seen = true;
      continue;
    }
    if (out.verify && std::find(kPixelChanging.begin(), kPixelChanging.end(), t.substr(0, t.find('='))) != kPixelChanging.end()) {
      return "--verify compares pixels: it cannot be combined with " + t;
    }
    out.convert_args.push_back(t);
  }
  fs::create_directories(out.target, ec);
  if (!fs::is_directory(out.target, ec)) return "cannot make the output directory " + target;
  return "";
}

int run_migrate(const MigrateOptions& o) {
  // What an interrupted run (Ctrl-C, a kill, a power cut) left half written: never under an
  // output's name, only under its temporary one, removed now.
  if (const std::size_t stale = remove_stale_temps(o.target); stale > 0 && !o.json) {
    std::cerr << "removed " << stale << " temporary file" << (stale == 1 ? "" : "s") << " left by an interrupted run\n";
  }
  Run run{o, images_below(o.source)};
  run.progress = !o.json && ::isatty(2);
  const unsigned jobs = o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  // Files run side by side: each conversion on one core rather than all of them fighting.
  if (jobs > 1) ::setenv("VIPS_CONCURRENCY", "1", 1);
  std::vector<std::thread> workers;
  for (unsigned k = 0; k < std::min<std::size_t>(jobs, std::max<std::size_t>(1, run.files.size())); ++k) {
    workers.emplace_back([&run] { run.work(); });
  }
  for (auto& w : workers) w.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
  if (run.progress) std::cerr << "\r\033[K";
  if (o.json) {
    json j;
    j["status"] = run.failed ? "error" : "done";
    j["files"] = run.files.size();
    j["converted"] = run.converted;
    j["skipped"] = run.skipped;
    j["failed"] = run.failed;
    j["seconds"] = std::round(s * 10) / 10;
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << run.files.size() << " images: " << run.converted << " converted" << (o.verify ? " and verified" : "")
              << ", " << run.skipped << " up to date, " << run.failed << " failed (" << static_cast<long>(s) << " s)" << std::endl;
  }
  return run.failed ? 1 : 0;
}

}  // namespace sipi::cli
