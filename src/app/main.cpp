// sipi: command line → Config → server. Wiring only.
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vips/vips8>
#include <vips/vector.h>

#include "cache/derivative_cache.h"
#include "offline.h"
#include "cli/commands.h"
#include "isolation/supervise.h"
#include "cli/convert.h"
#include "core/config.h"
#include "core/form.h"
#include "metadata/metadata.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/server.h"
#include "isolation/helper.h"
#include "service/isolated.h"
#include "lua/config_file.h"
#include "lua/runtime.h"
#include "source/codec.h"

namespace {

using sipi::Config;

// Flags whose values override the config file; env vars are read by CLI11 (flag > env).
struct ServerFlags {
  std::string config;
  int port = 0;
  int nthreads = -1;
  std::string imgroot, docroot, wwwroute, loglevel, hostname, bind;
  std::string pathprefix;
  int drain_timeout = -1, drain_grace = -1;
  long long max_width = 0, max_height = 0, max_area = 0;
  std::string cache_dir, cache_size, max_decode_memory, decode_isolation;
  int cache_nfiles = 0, max_waiting = 0;
  double queue_timeout = 0;
  // SIPI 7.0's flags with a meaning here.
  std::string jwtkey, initscript, scriptdir, maxpost, tmpdir, thumbsize, knorapath, knoraport, memory_limit;
  int maxtmpage = 0, keepalive = 0;
  // SIPI 7.0's flags without one (no TLS listener, no admission lanes, no preflight cache): accepted,
  // and each one given is named once in the log.
  std::vector<std::pair<std::string, std::string>> ignored;
};

// SIPI 7.0's flags that configure what sipi does differently; their values are only logged.
const char* const kIgnoredServerFlags[][3] = {
    {"--sslport", "SIPI_SSLPORT", "no TLS listener: terminate TLS in a proxy"},
    {"--sslcert", "SIPI_SSLCERTIFICATE", "no TLS listener: terminate TLS in a proxy"},
    {"--sslkey", "SIPI_SSLKEY", "no TLS listener: terminate TLS in a proxy"},
    {"--logfile", "SIPI_LOGFILE", "logs go to stdout as JSON lines"},
    {"--tiles-thread-ratio", "SIPI_TILES_THREAD_RATIO", "admission keeps one worker for cheap requests"},
    {"--tiles-memory-ratio", "SIPI_TILES_MEMORY_RATIO", "one decode-memory budget for all requests"},
    {"--large-decode-threshold-bytes", "SIPI_LARGE_DECODE_THRESHOLD_BYTES", "every decode is charged to the budget"},
    {"--admission-mode", "SIPI_ADMISSION_MODE", "the memory budget always applies"},
    {"--preflight-cache-ttl", "SIPI_PREFLIGHT_CACHE_TTL", "pre_flight runs on every request"},
    {"--preflight-cache-slots", "SIPI_PREFLIGHT_CACHE_SLOTS", "pre_flight runs on every request"},
    {"--adminuser", "SIPI_ADMINUSER", "SIPI 7.0 no longer gives it to Lua either"},
    {"--adminpasswd", "SIPI_ADMINPASSWD", "SIPI 7.0 no longer gives it to Lua either"},
};

void add_server_options(CLI::App& cmd, ServerFlags& f) {
  cmd.add_option("-c,--config", f.config, "Lua configuration file")->envname("SIPI_CONFIGFILE");
  cmd.add_option("--serverport", f.port, "port to listen on (1..65535)")->envname("SIPI_SERVERPORT");
  cmd.add_option("-t,--nthreads", f.nthreads, "worker threads for decoding (0 = one per core)")
      ->envname("SIPI_NTHREADS");
  cmd.add_option("--imgroot", f.imgroot, "image root directory")->envname("SIPI_IMGROOT");
  cmd.add_option("--docroot", f.docroot, "static files root")->envname("SIPI_DOCROOT");
  cmd.add_option("--wwwroute", f.wwwroute, "URL path of the static files")->envname("SIPI_WWWROUTE");
  cmd.add_option("--pathprefix", f.pathprefix, "use the IIIF prefix as a sub-directory (true/false; alone: true)")
      ->expected(0, 1)
      ->envname("SIPI_PATHPREFIX");
  cmd.add_option("--loglevel", f.loglevel, "DEBUG, INFO, WARNING or ERROR")->envname("SIPI_LOGLEVEL");
  cmd.add_option("--hostname", f.hostname, "host name used when a request has no Host")->envname("SIPI_HOSTNAME");
  cmd.add_option("--bind", f.bind, "address to listen on")->envname("SIPI_BIND_ADDRESS");
  cmd.add_option("--drain-timeout", f.drain_timeout, "seconds to finish requests on SIGTERM")
      ->envname("SIPI_DRAIN_TIMEOUT");
  cmd.add_option("--drain-grace", f.drain_grace, "seconds to stay reachable but unready after SIGTERM")
      ->envname("SIPI_DRAIN_GRACE");
  cmd.add_option("--max-width", f.max_width, "IIIF maxWidth")->envname("SIPI_MAX_WIDTH");
  cmd.add_option("--max-height", f.max_height, "IIIF maxHeight")->envname("SIPI_MAX_HEIGHT");
  cmd.add_option("--max-area", f.max_area, "IIIF maxArea")->envname("SIPI_MAX_AREA");
  cmd.add_option("--cache-dir,--cachedir", f.cache_dir, "derivative cache directory")->envname("SIPI_CACHE_DIR");
  cmd.add_option("--cache-size,--cachesize", f.cache_size, "derivative cache size (-1 unlimited, 0 off, e.g. 200M)")
      ->envname("SIPI_CACHE_SIZE");
  cmd.add_option("--cache-nfiles,--cachenfiles", f.cache_nfiles, "derivative cache file limit (0 = none)")
      ->envname("SIPI_CACHE_NFILES");
  cmd.add_option("--max-waiting", f.max_waiting, "expensive requests that may wait for a worker")
      ->envname("SIPI_MAX_WAITING");
  cmd.add_option("--queue-timeout", f.queue_timeout, "seconds a request may wait for a worker before 503")
      ->envname("SIPI_QUEUE_TIMEOUT");
  cmd.add_option("--max-decode-memory", f.max_decode_memory, "decode-memory budget, e.g. 1G (0 = none)")
      ->envname("SIPI_MAX_DECODE_MEMORY");
  cmd.add_option("--decode-isolation", f.decode_isolation, "decode in helper processes (all) or in the server (none)")
      ->envname("SIPI_DECODE_ISOLATION");
  // SIPI 7.0's flags (and their SIPI_* variables), so that its command lines keep working.
  cmd.add_option("--jwtkey", f.jwtkey, "HS256 key for server.generate_jwt/decode_jwt")->envname("SIPI_JWTKEY");
  cmd.add_option("--initscript", f.initscript, "Lua init script (pre_flight hooks)")->envname("SIPI_INITSCRIPT");
  cmd.add_option("--scriptdir", f.scriptdir, "directory of route scripts and require()")->envname("SIPI_SCRIPTDIR");
  cmd.add_option("--maxpost", f.maxpost, "largest POST body, e.g. 300M (0 = no limit)")->envname("SIPI_MAXPOSTSIZE");
  cmd.add_option("--tmpdir", f.tmpdir, "upload directory given to Lua")->envname("SIPI_TMPDIR");
  cmd.add_option("--maxtmpage", f.maxtmpage, "config.max_temp_file_age for Lua (seconds)")->envname("SIPI_MAXTMPAGE");
  cmd.add_option("--thumbsize", f.thumbsize, "config.thumb_size for Lua, e.g. !128,128")->envname("SIPI_THUMBSIZE");
  cmd.add_option("--knorapath", f.knorapath, "config.knora_path for Lua")->envname("SIPI_KNORAPATH");
  cmd.add_option("--knoraport", f.knoraport, "config.knora_port for Lua")->envname("SIPI_KNORAPORT");
  cmd.add_option("--keepalive", f.keepalive, "seconds an idle keep-alive connection stays open")->envname("SIPI_KEEPALIVE");
  cmd.add_option("--memory-limit", f.memory_limit, "SIPI's memory limit: taken as the decode-memory budget")
      ->envname("SIPI_MEMORY_LIMIT");
  for (const auto& flag : kIgnoredServerFlags) {
    std::string name = flag[0], why = flag[2];
    cmd.add_option(name, [&f, name, why](const CLI::results_t&) {
         f.ignored.emplace_back(name, why);
         return true;
       }, std::string("accepted for SIPI compatibility; ignored: ") + why)
        ->envname(flag[1])
        ->group("SIPI 7.0 compatibility");
  }
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "sipi: " << msg << std::endl;
  std::exit(1);
}

Config build_config(CLI::App& cmd, const ServerFlags& f) {
  Config cfg;
  if (!f.config.empty()) {
    auto r = sipi::lua::load_config_file(f.config, cfg);
    if (!r) die(r.error().message);
  }
  auto given = [&](const char* name) { return cmd.get_option(name)->count() > 0; };
  if (given("--serverport")) cfg.port = f.port;
  if (given("--nthreads")) cfg.nthreads = f.nthreads;
  if (given("--imgroot")) cfg.imgroot = f.imgroot;
  if (given("--docroot")) cfg.docroot = f.docroot;
  if (given("--wwwroute")) cfg.wwwroute = f.wwwroute;
  if (given("--loglevel")) cfg.loglevel = f.loglevel;
  if (given("--hostname")) cfg.hostname = f.hostname;
  if (given("--bind")) cfg.bind_address = f.bind;
  if (given("--drain-timeout")) cfg.drain_timeout = f.drain_timeout;
  if (given("--drain-grace")) cfg.drain_grace = f.drain_grace;
  if (given("--max-width")) cfg.max_width = f.max_width;
  if (given("--max-height")) cfg.max_height = f.max_height;
  if (given("--max-area")) cfg.max_area = f.max_area;
  if (given("--cache-dir")) cfg.cache_dir = f.cache_dir;
  if (given("--cache-size")) cfg.cache_size = f.cache_size;
  if (given("--cache-nfiles")) cfg.cache_nfiles = f.cache_nfiles;
  if (given("--max-waiting")) cfg.max_waiting = f.max_waiting;
  if (given("--queue-timeout")) cfg.queue_timeout = f.queue_timeout;
  if (given("--max-decode-memory")) cfg.max_decode_memory = f.max_decode_memory;
  if (given("--decode-isolation")) cfg.decode_isolation = f.decode_isolation;
  if (given("--jwtkey")) cfg.jwt_secret = f.jwtkey;
  if (given("--initscript")) cfg.initscript = f.initscript;
  if (given("--scriptdir")) cfg.scriptdir = f.scriptdir;
  if (given("--maxpost")) cfg.max_post_size = f.maxpost;
  if (given("--tmpdir")) cfg.tmpdir = f.tmpdir;
  if (given("--maxtmpage")) cfg.max_temp_file_age = f.maxtmpage;
  if (given("--thumbsize")) cfg.thumb_size = f.thumbsize;
  if (given("--knorapath")) cfg.knora_path = f.knorapath;
  if (given("--knoraport")) cfg.knora_port = f.knoraport;
  if (given("--keepalive")) cfg.keep_alive_timeout = f.keepalive;
  if (given("--memory-limit") && !given("--max-decode-memory")) {
    // SIPI splits its limit between lanes; here one budget covers every decode.
    cfg.max_decode_memory = f.memory_limit == "0" ? Config{}.max_decode_memory : f.memory_limit;
  }
  // SIPI's deprecated variable names, when the current ones are not set.
  auto legacy_env = [&](const char* flag, const char* var, auto apply) {
    const char* v = std::getenv(var);
    if (v && !given(flag)) apply(std::string(v));
  };
  legacy_env("--cache-dir", "SIPI_CACHEDIR", [&](const std::string& v) { cfg.cache_dir = v; });
  legacy_env("--cache-size", "SIPI_CACHESIZE", [&](const std::string& v) { cfg.cache_size = v; });
  legacy_env("--cache-nfiles", "SIPI_CACHENFILES", [&](const std::string& v) {
    try {
      cfg.cache_nfiles = std::stoi(v);
    } catch (...) {
      die("SIPI_CACHENFILES: not a number: " + v);
    }
  });
  // SIPI 7.0's highest-priority port variable.
  if (const char* p = std::getenv("SIPI_RS_PORT")) {
    try {
      cfg.port = std::stoi(p);
    } catch (...) {
      die("SIPI_RS_PORT: not a number: " + std::string(p));
    }
  }
  if (given("--pathprefix")) {
    if (f.pathprefix.empty() || f.pathprefix == "true" || f.pathprefix == "1" || f.pathprefix == "yes") cfg.prefix_as_path = true;
    else if (f.pathprefix == "false" || f.pathprefix == "0" || f.pathprefix == "no") cfg.prefix_as_path = false;
    else die("--pathprefix: expected true or false");
  }
  sipi::log::Level level;
  if (!sipi::log::parse_level(cfg.loglevel, level)) die("sipi.loglevel: unknown level " + cfg.loglevel);
  sipi::log::set_level(level);
  auto valid = cfg.validate();
  if (!valid) die(valid.error().message);
  for (const auto& [name, why] : f.ignored) {
    sipi::log::warning("ignored flag", {{"flag", name}, {"why", why}});
  }
  return cfg;
}

// libvips reports per-tile problems through GLib warnings on stderr; keep them in the JSON log.
void route_glib_warnings() {
  g_log_set_handler("VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
                    [](const gchar*, GLogLevelFlags, const gchar* message, gpointer) {
                      sipi::log::debug("libvips", {{"warning", message ? message : ""}});
                    },
                    nullptr);
}

// libvips and malloc as a server (or its decode helper) wants them: see serve().
void tune_for_serving(bool helper = false) {
  // A server runs many small pipelines at once: libvips' operation cache would only hold
  // memory, and per-pipeline threads would compete with the worker pool (ADR 0002).
  vips_cache_set_max(0);
  vips_concurrency_set(1);
  // Orc (libvips' vector code) only in a decode helper. With the operation cache off every
  // request compiles and frees Orc programs, and liborc 0.4.33 freeing code on two threads at
  // once crashed the server (SIGSEGV in orc_code_free, 40000² thumbnails at concurrency 32); a
  // helper runs one job at a time, so its frees never overlap. There it pays: PNG thumbnails
  // +15 %, rotated 1000 px +22 %, 4000 px +30 % requests/s (bench/results/2026-12-06-orc.md).
  vips_vector_set_enabled(helper ? TRUE : FALSE);
  // Every request allocates and frees pixel buffers of 0.1–30 MB. glibc serves those with fresh
  // mmaps (page faults and zeroing on every request, ~20 % of a thumbnail's CPU); kept in the
  // heap they are reused. Measured in bench/README.md (allocator).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  sipi::source::init_codecs();
  sipi::metadata::init();
  route_glib_warnings();
}

// `sipi decode-helper …`: started by the server's decode pool (isolation/), never by hand.
int decode_helper(int argc, char** argv) {
  tune_for_serving(true);
  return sipi::isolation::run_helper(argc, argv, sipi::service::helper_handlers());
}

// Decode helpers for a server whose decode_isolation is "all": one per worker.
void start_isolation(sipi::http::AppContext& ctx, const Config& cfg, std::uint64_t budget, std::uint64_t tiles) {
  if (cfg.decode_isolation != "all") {
    sipi::log::warning("decode isolation is off: a crashing codec takes the server down", {});
    ctx.iiif.tile_cache_per_process = tiles;
    sipi::source::set_decoded_tile_cache(tiles);
    return;
  }
  sipi::isolation::PoolSettings s;
  s.helpers = static_cast<std::size_t>(cfg.worker_threads()) + 1;
  ctx.iiif.tile_cache_per_process = tiles / s.helpers;  // each helper its share
  // One job at a time per helper, and no job above the budget: the budget plus room for code,
  // libraries, thread stacks and malloc arenas.
  s.address_space = budget > 0 ? budget + (3ULL << 30) : 0;
  s.cpu_seconds = static_cast<unsigned>(cfg.decode_cpu_seconds);
  // Not SIPI's tmpdir (uploads, which Lua scripts list and clean): the system's.
  std::error_code ec;
  s.scratch = std::filesystem::temp_directory_path(ec) / ("sipi-decode-" + std::to_string(::getpid()));
  auto pool = sipi::isolation::Pool::start(s);
  if (!pool) die("decode_isolation: " + pool.error().message);
  ctx.iiif.isolation = *pool;
  ctx.iiif.headers = std::make_shared<sipi::source::HeaderCache>(64 << 20, sipi::service::isolated_loaders(*pool));
  sipi::isolation::set_shared_pool(*pool);
  sipi::log::info("decode helpers started", {{"helpers", sipi::log::num(static_cast<long long>(s.helpers))}});
}

int serve(Config cfg) {
  namespace fs = std::filesystem;
  auto ctx = std::make_shared<sipi::http::AppContext>();
  std::error_code ec;
  fs::path root = fs::canonical(cfg.imgroot, ec);
  if (ec) die("sipi.imgroot: " + ec.message());
  if (!cfg.docroot.empty()) {
    ctx->docroot = fs::canonical(cfg.docroot, ec);
    if (ec) die("fileserver.docroot: " + ec.message());
    ctx->wwwroute = cfg.wwwroute;
    while (ctx->wwwroute.size() > 1 && ctx->wwwroute.back() == '/') ctx->wwwroute.pop_back();
  }
  ctx->iiif = sipi::service::Context::from_config(cfg, root);
  // POST bodies for Lua routes: max_post_size ("0" = SIPI's unlimited; kept at 1 GiB here).
  std::uint64_t max_post = 0;
  sipi::parse_byte_size(cfg.max_post_size, max_post);  // validated already
  if (max_post > 0) ctx->max_body_bytes = max_post;
  ctx->trusted_proxies = sipi::parse_networks(cfg.trusted_proxies).value_or(std::vector<sipi::Network>{});  // validated
  bool scripted = (!cfg.initscript.empty() && cfg.initscript != ".") || !cfg.routes.empty() || !cfg.docroot.empty();
  if (scripted) {
    sipi::lua::Limits limits;
    if (const char* m = std::getenv("SIPI_LUA_MEMORY_LIMIT")) limits.memory_bytes = std::strtoull(m, nullptr, 10);
    if (const char* t = std::getenv("SIPI_LUA_TIMEOUT_MS")) limits.deadline = std::chrono::milliseconds(std::strtoull(t, nullptr, 10));
    auto rt = sipi::lua::Runtime::create(cfg, limits);
    if (!rt) die("sipi.initscript: " + rt.error().message);
    ctx->lua = *rt;
  }
  std::optional<std::uint64_t> cache_bytes;
  sipi::cache::parse_cache_size(cfg.cache_size, cache_bytes);  // validated already
  if (cache_bytes && !cfg.cache_dir.empty()) {
    auto cache = sipi::cache::DerivativeCache::open(
        cfg.cache_dir, {*cache_bytes, static_cast<std::uint64_t>(cfg.cache_nfiles)});
    if (!cache) die("sipi.cache_dir: " + cache.error().message);
    ctx->iiif.cache = std::move(*cache);
  }
  std::uint64_t budget = 0;
  sipi::parse_byte_size(cfg.max_decode_memory, budget);  // validated already
  std::uint64_t tiles = 0;
  sipi::parse_byte_size(cfg.decoded_tile_cache, tiles);  // validated already
  // The decoded-tile caches hold their memory for good: it is not the requests' to reserve.
  if (budget > 0) {
    tiles = std::min(tiles, budget / 4);
    ctx->iiif.memory = std::make_shared<sipi::service::MemoryBudget>(budget - tiles);
    sipi::metrics().decode_memory_budget = static_cast<std::int64_t>(budget);  // as configured
  }
  sipi::metrics().decoded_tile_cache_bytes = static_cast<std::int64_t>(tiles);
  start_isolation(*ctx, cfg, budget, tiles);
  ctx->config = std::make_shared<const Config>(std::move(cfg));

  tune_for_serving();
  // Many keep-alive viewers: use the hard limit on open files, not the 1024 soft default.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  return sipi::http::run_server(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread: libcurl's global init is not thread-safe
  if (VIPS_INIT(argv[0])) {
    std::cerr << "sipi: cannot initialise libvips" << std::endl;
    return 1;
  }
  if (argc > 1 && std::string_view(argv[1]) == "decode-helper") return decode_helper(argc, argv);
  CLI::App app{"sipi: IIIF Image API 3.0 server and image converter"};
  app.set_version_flag("--version", std::string("sipi ") + SIPI_VERSION);
  app.require_subcommand(1);

  ServerFlags flags;
  CLI::App* server = app.add_subcommand("server", "run the IIIF server");
  add_server_options(*server, flags);
  sipi::app::OfflineCommands offline;
  sipi::app::add_offline_commands(app, offline);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "convert" && (args[1] == "service-file" || args[1] == "access-file")) {
    args[1] = "convert-" + args[1];
    args.erase(args.begin());
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments as a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (server->parsed()) return serve(build_config(*server, flags));
  return sipi::app::run_offline(offline, argv, route_glib_warnings);
}
