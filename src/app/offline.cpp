#include "offline.h"

#include <iostream>
#include <sstream>
#include <vips/vips8>

#include "cli/commands.h"
#include "encode/jp2_writer.h"
#include "isolation/supervise.h"
#include "metadata/metadata.h"
#include "source/codec.h"

namespace sipi::app {
namespace {

void add_convert_options(CLI::App& cmd, sipi::cli::ConvertOptions& o) {
  cmd.add_option("input", o.input, "source image")->required();
  cmd.add_option("output", o.output, "output image; the format comes from the extension or --format")->required();
  cmd.add_option("-F,--format", o.format, "jpg, tif, png, webp, jp2, jpx or j2k");
  cmd.add_option("-r,--region", o.region, "region x y w h")->expected(4);
  cmd.add_option("-s,--size", o.size, "IIIF size (e.g. 1000, or !800,800)");
  cmd.add_option("-S,--scale", o.scale, "scale in percent");
  cmd.add_option("-R,--reduce", o.reduce, "reduce by 2^n");
  cmd.add_option("-o,--rotate", o.rotate, "rotate clockwise by degrees");
  cmd.add_option("-m,--mirror", o.mirror, "none, horizontal or vertical");
  cmd.add_option("-q,--quality", o.quality, "JPEG/WebP quality 1..100 (JPEG 2000: lossy at this quality)");
  cmd.add_option("-I,--icc", o.icc, "convert to none, sRGB, AdobeRGB or GRAY and embed that profile");
  cmd.add_flag("--topleft", o.topleft, "apply the EXIF/TIFF orientation and reset it to 1");
  cmd.add_flag("-k,--skipmeta", o.skipmeta, "drop EXIF, IPTC, XMP and ICC");
  cmd.add_option("-n,--pagenum", o.pagenum, "page of a multi-page TIFF (1 = first)");
  cmd.add_option("-w,--watermark", o.watermark, "image blended into the output");
  cmd.add_flag("--json", o.json, "one JSON document on stdout");
  cmd.add_flag("--Ctiff_pyramid", o.tiff_pyramid, "TIFF: tiled pyramid (256 px tiles)");
  // JPEG 2000
  auto* jp = &o.jp2;
  cmd.add_option("--Sprofile", [](const CLI::results_t&) { return true; }, "accepted for SIPI compatibility");
  cmd.add_option("--rates", [jp](const CLI::results_t& r) {
    // "20 10 5" quoted as one argument is three layers too (and "20abc" is an error, not 20).
    for (const auto& arg : r) {
      std::istringstream words(arg);
      std::string v;
      while (words >> v) {
        if (v == "X" || v == "x") { jp->rates.push_back(0); continue; }
        std::size_t used = 0;
        try { jp->rates.push_back(std::stod(v, &used)); } catch (...) { return false; }
        if (used != v.size() || jp->rates.back() < 0) return false;
      }
    }
    if (jp->rates.empty()) return false;
    jp->lossless = jp->rates.empty() || jp->rates.back() == 0;
    return true;
  }, "compression ratio per quality layer, e.g. 80 40 20 X (X = lossless)")->expected(1, 100);
  cmd.add_option("--Clayers", o.jp2.layers, "number of quality layers");
  cmd.add_option("--Clevels", o.jp2.levels, "number of resolution levels (decompositions)");
  cmd.add_option("--Corder", o.jp2.order, "progression order: LRCP RLCP RPCL PCRL CPRL");
  cmd.add_option("--Stiles", [jp](const CLI::results_t& r) { return sipi::encode::parse_pair(r[0], jp->tile_w, jp->tile_h); },
                 "tile size, e.g. {512,512}");
  cmd.add_option("--Cprecincts", [jp](const CLI::results_t& r) {
    return sipi::encode::parse_pair(r[0], jp->precinct_w, jp->precinct_h); }, "precinct size, e.g. {256,256}");
  cmd.add_option("--Cblk", [jp](const CLI::results_t& r) { return sipi::encode::parse_pair(r[0], jp->cblk_w, jp->cblk_h); },
                 "code-block size, e.g. {64,64}");
  cmd.add_flag("--htj2k", jp->ht, "write an HTJ2K (JPEG 2000 Part 15) codestream (OpenJPH)");
  cmd.add_option("--Cmodes", [jp](const CLI::results_t& r) { return sipi::encode::parse_cmodes(r[0], jp->ht); },
                 "code-block modes as Kakadu names them: HT = HTJ2K");
  cmd.add_option("--qstep", [jp](const CLI::results_t& r) {
    try { jp->qstep = std::stof(r[0]); } catch (...) { return false; }
    jp->lossless = false;
    return jp->qstep > 0 && jp->qstep <= 1; }, "HTJ2K: lossy with this quantisation step (e.g. 0.004)");
  cmd.add_option("--Cuse_sop", [jp](const CLI::results_t& r) {
    jp->sop = r[0] == "yes" || r[0] == "true" || r[0] == "1";
    return r[0] == "yes" || r[0] == "no" || r[0] == "true" || r[0] == "false" || r[0] == "1" || r[0] == "0"; },
                 "SOP markers: yes or no");
}

// convert --recursive: the options of every file's conversion are convert's own, as given.
int run_migration(OfflineCommands& c, char** argv) {
  if (!c.recursive) {
    std::cerr << "Error in arguments: --jobs and --verify go with --recursive" << std::endl;
    return 1;
  }
  std::vector<std::string> args;
  bool after = false;
  for (char** a = argv + 1; *a; ++a) {
    if (after) args.emplace_back(*a);
    if (std::string(*a) == "convert") after = true;
  }
  sipi::cli::MigrateOptions m;
  m.jobs = c.jobs;
  m.verify = c.verify_outputs;
  m.json = c.conv.json;
  std::string err = sipi::cli::migrate_options_from(args, c.conv.input, c.conv.output, c.conv.format, c.conv.jp2.ht, m);
  if (!err.empty()) {
    std::cerr << "Error in arguments: " << err << std::endl;
    return 1;
  }
  sipi::source::init_codecs();
  return sipi::cli::run_migrate(m);
}

}  // namespace

void add_offline_commands(CLI::App& app, OfflineCommands& c) {
  c.convert = app.add_subcommand("convert", "convert an image, keeping its metadata");
  add_convert_options(*c.convert, c.conv);
  c.convert->add_flag("--recursive", c.recursive, "INPUT and OUTPUT are directories: convert every image below INPUT");
  c.convert->add_option("-j,--jobs", c.jobs, "--recursive: files converted at once (default: one per core)");
  c.convert->add_flag("--verify", c.verify_outputs, "--recursive: decode each output and compare it with its source");
  // "convert service-file" and "convert access-file" are separate commands: convert's own
  // positionals and multi-value options would otherwise swallow the verb (see main()).
  c.service_file = app.add_subcommand("convert-service-file", "lossless JP2 or pyramidal TIFF with the Essentials packet");
  c.service_file->group("");
  c.service_file->add_option("input", c.service_opts.input, "master image")->required();
  c.service_file->add_option("output", c.service_opts.output, "service file (.jp2, .jpx or .tif)")->required();
  c.service_file->add_flag("--topleft", c.service_opts.topleft, "apply the EXIF/TIFF orientation");
  c.service_file->add_flag("--json", c.service_opts.json, "one JSON document on stdout");
  c.service_file->add_flag("--htj2k", c.service_opts.jp2.ht, "JPEG 2000 service file with an HTJ2K codestream (lossless)");
  // For Lua's img:write(…, {file_role = 'service-file'}), which runs the converter as a child.
  c.service_file->add_option("--origname", c.service_opts.original_name, "original file name for the packet")->group("");
  c.service_file->add_option("--origmime", c.service_opts.original_mime, "original MIME type for the packet")->group("");
  c.access_file = app.add_subcommand("convert-access-file", "derivative of a service file, without the packet");
  c.access_file->group("");
  add_convert_options(*c.access_file, c.access_opts);

  c.query = app.add_subcommand("query", "describe an image and its metadata");
  c.query->add_option("file", c.query_file, "image")->required();
  c.query->add_flag("--json", c.query_json, "one JSON document on stdout");

  c.compare = app.add_subcommand("compare", "compare the pixels of two images (exit 0 = identical, 255 = differ, diff.tif written)");
  c.compare->add_option("a", c.cmp_a, "first image")->required();
  c.compare->add_option("b", c.cmp_b, "second image")->required();
  c.compare->add_flag("--json", c.quiet_json, "accepted for SIPI compatibility");

  c.health = app.add_subcommand("health", "check a running server (exit 0 = healthy)");
  c.health->add_option("--port", c.health_port, "the server's port")->envname("SIPI_SERVERPORT");
  c.health->add_option("--host", c.health_host, "the server's address");
  c.health->add_option("--timeout", c.health_timeout, "seconds to wait for the answer");

  c.verify = app.add_subcommand("verify", "check that an image decodes completely");
  c.verify->add_option("file", c.verify_file, "image");
  c.verify_sf = c.verify->add_subcommand("service-file", "packet present, shape and pixel digest match");
  c.verify_sf->add_option("file", c.verify_service, "service file")->required();
  c.verify_af = c.verify->add_subcommand("access-file", "decodes and carries no packet");
  c.verify_af->add_option("file", c.verify_access, "access file")->required();
  for (CLI::App* v : {c.verify, c.verify_sf, c.verify_af}) v->add_flag("--json", c.quiet_json, "accepted for SIPI compatibility");

  c.convert->footer("Also: sipi convert service-file IN OUT [--topleft] [--json]\n"
                  "      sipi convert access-file SERVICE OUT [convert options]");
}

int run_offline(OfflineCommands& c, char** argv, void (*quiet_glib)()) {
  if (c.health->parsed()) return sipi::cli::run_health(c.health_host, c.health_port, c.health_timeout);
  if (c.convert->parsed() && (c.recursive || c.verify_outputs || c.jobs > 0)) return run_migration(c, argv);
  if (!sipi::isolation::is_supervised_child()) {
    // Offline commands run in a child, so that a crashing codec is reported like any failure.
    sipi::isolation::CrashReport r;
    if (c.convert->parsed()) r = {"convert", c.conv.input, c.conv.output, c.conv.json, 1};
    else if (c.service_file->parsed()) r = {"convert", c.service_opts.input, c.service_opts.output, c.service_opts.json, 1};
    else if (c.access_file->parsed()) r = {"convert", c.access_opts.input, c.access_opts.output, c.access_opts.json, 1};
    else if (c.query->parsed()) r = {"query", c.query_file, "", c.query_json, 1};
    else if (c.compare->parsed()) r = {"compare", c.cmp_a + " / " + c.cmp_b, "", false, 1};
    else if (c.verify->parsed()) r = {"verify", c.verify_file + c.verify_service + c.verify_access, "", false, 1};
    if (!r.command.empty()) return sipi::isolation::run_supervised(argv, r);
  }
  sipi::source::init_codecs();
  sipi::metadata::init();
  quiet_glib();  // the CLI promises one line on stderr per failure
  vips_concurrency_set(0);  // offline: let libvips use every core
  if (c.service_file->parsed()) {
    c.service_opts.role = sipi::cli::Role::service;
    c.service_opts.tiff_pyramid = true;
    return sipi::cli::run_convert(c.service_opts);
  }
  if (c.access_file->parsed()) {
    c.access_opts.role = sipi::cli::Role::access;
    return sipi::cli::run_convert(c.access_opts);
  }
  if (c.convert->parsed()) return sipi::cli::run_convert(c.conv);
  if (c.verify_sf->parsed()) return sipi::cli::run_verify_service_file(c.verify_service);
  if (c.verify_af->parsed()) return sipi::cli::run_verify_access_file(c.verify_access);
  if (c.verify->parsed() && c.verify_file.empty()) {
    std::cerr << "Error in arguments: verify needs a FILE" << std::endl;
    return 1;
  }
  if (c.query->parsed()) return sipi::cli::run_query(c.query_file, c.query_json);
  if (c.compare->parsed()) return sipi::cli::run_compare(c.cmp_a, c.cmp_b);
  if (c.verify->parsed()) return sipi::cli::run_verify(c.verify_file);
  return 0;
}

}  // namespace sipi::app
