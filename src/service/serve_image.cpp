#include "service/serve_image.h"

#include <malloc.h>

#include <atomic>

#include "cache/derivative_cache.h"
#include "core/log.h"
#include "core/metrics.h"
#include "source/codec.h"
#include "service/memory_budget.h"
#include "service/spool.h"

namespace sipi::service {
namespace {

// A reservation of the decode budget for `p`, or why there is none.
Result<std::optional<MemoryBudget::Reservation>> reserve(const Context& ctx, std::uint64_t need) {
  if (!ctx.memory) return std::optional<MemoryBudget::Reservation>();
  if (need > ctx.memory->total()) {
    metrics().decode_memory_rejected("too_large");
    return Error{Status::payload_too_large, "decode.too_large",
                 "needs " + std::to_string(need >> 20) + " MiB of a " + std::to_string(ctx.memory->total() >> 20) +
                     " MiB decode budget"};
  }
  auto r = ctx.memory->acquire(need, std::chrono::milliseconds(1000));
  if (!r) {
    metrics().decode_memory_rejected("busy");
    return Error{Status::unavailable, "decode.memory_busy", {}};
  }
  metrics().decode_memory_acquired();
  return std::optional<MemoryBudget::Reservation>(std::move(*r));
}

}  // namespace

Result<ImageBody> serve_image(const Context& ctx, const PreparedImage& p) {
  if (auto tile = stored_tile(p)) {
    return ImageBody{std::move(*tile), nullptr, "image stored tile"};  // not cached: as cheap as a cache hit
  }
  if (ctx.cache) {
    if (auto hit = ctx.cache->lookup(p.cache_key)) return ImageBody{std::move(hit->bytes), std::move(hit->file), "image cached"};
  }
  const std::uint64_t need = ctx.memory ? decode_memory_estimate(p) : 0;
  auto reserved = reserve(ctx, need);
  if (!reserved) return reserved.error();
  std::shared_ptr<SpooledBody> spool;
  if (should_spool(p)) {
    auto s = open_spool(ctx.spool_dir);
    if (s) {
      spool = std::move(*s);
    } else {
      // Never a reason to fail the request: the output is held in memory, as for small ones.
      static std::atomic<bool> said{false};
      if (!said.exchange(true)) log::warning("spool file unavailable; large outputs are held in memory", {{"error", s.error().message}});
    }
  }
  // What a second render would cost: the cache stores cheap derivatives only once they recur.
  double cost_ms = 0;
  auto body = render_image(ctx, p, spool ? spool->fd : -1, &cost_ms);
  metrics().image_rendered();
  if (!ctx.isolation) {  // a helper's counts come with its answer (isolated.cpp)
    const auto counts = source::take_tile_cache_counts();
    metrics().tile_cache(counts.hits, counts.misses);
  }
  // A large decode leaves free pages scattered in malloc's arenas; hand them back now rather
  // than let the RSS stay at its peak.
  if (need > (64u << 20)) ::malloc_trim(0);
  if (!body) return body.error();
  if (spool) {
    if (auto done = finish_spool(*spool); !done) return done.error();
    metrics().image_spooled();
    if (ctx.cache) ctx.cache->put_file(p.cache_key, spool->fd, spool->offset, spool->length, cost_ms);
    return ImageBody{{}, std::move(spool), "image spooled"};
  }
  if (ctx.cache) ctx.cache->put(p.cache_key, *body, cost_ms);
  return ImageBody{std::move(*body), nullptr, "image"};
}

}  // namespace sipi::service
