// /{prefix}/{id}/knora.json (DaSCH DSP): what the file is. Images: width, height, numpages,
// internalMimeType, and originalMimeType / originalFilename from the Essentials packet; other
// files: internalMimeType, fileSize, originalFilename. checksumOriginal / checksumDerivative
// (and, for video, duration, fps, width, height) come from the sidecar "<name without
// extension>.info" JSON when there is one. pre_flight only chooses the path: as for info.json,
// a plain deny is answered from the default path (SIPI gates pixels only); an IIIF Auth kind's
// own response is sent as the hook made it.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "http/access_check.h"
#include "http/handlers.h"
#include "http/respond.h"
#include "service/isolated.h"
#include "iiif/request.h"
#include "metadata/essentials.h"
#include "source/codec.h"
#include "source/resolver.h"

namespace sipi::http {
namespace {

nlohmann::json read_sidecar(const std::filesystem::path& file) {
  auto sidecar = file;
  sidecar.replace_extension(".info");
  std::ifstream in(sidecar);
  if (!in) return nlohmann::json::object();
  try {
    auto j = nlohmann::json::parse(in);
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

void add_video_fields(nlohmann::ordered_json& j, const std::string& mime, const nlohmann::json& sidecar) {
  if (mime != "video/mp4") return;
  for (const char* key : {"duration", "fps", "width", "height"}) {
    if (sidecar.contains(key) && sidecar[key].is_number()) j[key] = sidecar[key];
  }
}

}  // namespace

std::string bitstream_info(const std::filesystem::path& path, const std::string& id) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  std::string mime = mime_for(path);
  mime = mime.substr(0, mime.find(';'));  // SIPI: the type without parameters
  nlohmann::ordered_json j;
  j["@context"] = "http://sipi.io/api/file/3/context.json";
  j["id"] = id;
  j["internalMimeType"] = mime;
  j["fileSize"] = static_cast<std::int64_t>(st.st_size);
  add_video_fields(j, mime, read_sidecar(path));
  return j.dump();
}

Response handle_knora(const AppContext& ctx, const RequestView& req, const iiif::KnoraRequest& kr) {
  auto decision = run_pre_flight(ctx, req, kr.ref);
  if (!decision) return error_response(decision.error());
  if (*decision && (*decision)->response) return hook_response(*(*decision)->response);
  auto path = *decision && (*decision)->path ? source::resolve_hook_path(ctx.iiif.root, *(*decision)->path)
                                             : source::resolve(ctx.iiif.root, kr.ref.prefix, kr.ref.identifier);
  if (!path) return error_response(path.error());

  nlohmann::ordered_json j;
  j["@context"] = "http://sipi.io/api/file/3/context.json";
  j["id"] = origin_of(req, *ctx.config) + iiif::base_path(kr.ref);
  nlohmann::json sidecar = read_sidecar(*path);
  for (const char* key : {"checksumOriginal", "checksumDerivative"}) {
    if (sidecar.contains(key) && sidecar[key].is_string()) j[key] = sidecar[key];
  }
  // Through the header cache, so the probe runs in a decode helper when decoding is isolated.
  Result<source::ImageShape> shape = Error::not_found("source.not_found");
  auto f = service::stat_source(*path);
  if (f) {
    auto h = service::read_header(ctx.iiif, *f, kr.ref.page);
    if (h) shape = (*h)->shape;
  }
  if (shape) {
    j["width"] = shape->size.w;
    j["height"] = shape->size.h;
    if (shape->pages > 1) j["numpages"] = shape->pages;
    j["internalMimeType"] = source::mime_type(shape->format);
    auto packet = service::read_essentials(ctx.iiif.isolation.get(), *f);
    if (packet && *packet) {
      j["originalMimeType"] = (*packet)->original_mime;
      j["originalFilename"] = (*packet)->original_name;
    }
  } else {
    struct stat st {};
    ::stat(path->c_str(), &st);
    std::string mime = mime_for(*path);
    j["internalMimeType"] = mime;
    j["fileSize"] = static_cast<std::int64_t>(st.st_size);
    j["originalFilename"] = sidecar.contains("originalFilename") && sidecar["originalFilename"].is_string()
                                ? sidecar["originalFilename"].get<std::string>()
                                : "";
    add_video_fields(j, mime, sidecar);
  }
  Response r;
  r.detail = "knora";
  r.body = j.dump();
  r.set("Content-Type", "application/json");
  add_cors(r, req, true);
  return r;
}

}  // namespace sipi::http
