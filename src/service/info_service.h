// The IIIF info use-case: headers only, never pixels.
#pragma once

#include <string>

#include "core/result.h"
#include "iiif/request.h"
#include "service/context.h"
#include "source/shape.h"

namespace sipi::service {

struct PreparedInfo {
  SourceFile file;
  source::ImageShape shape;
};

Result<PreparedInfo> prepare_info(const Context& ctx, const iiif::ImageRef& ref, const AccessOptions& access = {});

// `id` is the base URI the client used.
std::string info_document(const Context& ctx, const PreparedInfo& p, const std::string& id,
                          const std::string& service_json = {});

// Strong validator over the file version, the declared limits and the id.
std::string info_etag(const Context& ctx, const PreparedInfo& p, const std::string& id);

}  // namespace sipi::service
