// The access hook between the IIIF request and the source (pipeline stage "access").
#pragma once

#include <optional>

#include "access/decision.h"
#include "http/message.h"
#include "iiif/request.h"
#include "service/context.h"

namespace sipi::http {

// Runs pre_flight when the init script defines it; nullopt when there is none (allow, default
// path). Errors: the runtime's (500 lua.*).
Result<std::optional<access::Decision>> run_pre_flight(const AppContext& ctx, const RequestView& req,
                                                       const iiif::ImageRef& ref);

// What Lua scripts see of the request (the `server` table's request variables).
lua::RequestInfo request_info(const RequestView& req);

service::AccessOptions access_options(const std::optional<access::Decision>& d);

// The hook's own response (it called server.sendStatus), as an HTTP response.
Response hook_response(const lua::ScriptResponse& s);

// The IIIF Auth 1.0 service block for an auth decision (a JSON array).
std::string auth_service_json(const access::Decision& d);

}  // namespace sipi::http
