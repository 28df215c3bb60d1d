#pragma once
// When each route was last asked for, and how often in the last hour, day and week: what an API
// team reads before it removes an endpoint (lacquerctl routes, GET /routes,
// lacquer_route_last_request_timestamp_seconds). Kept in each worker's Shard, in slots the
// Registry reserves per route: the last request's Unix second, then three rings of time buckets
// (12 of 5 minutes, 24 of an hour, 28 of 6 hours). A bucket is one 64-bit value, the period it
// counts (low 24 bits of its index since the epoch) above a 40-bit count, so a worker turns a
// bucket over with one store and a reader on another thread never sees a count of the wrong
// period. Recording is a few loads and stores in the worker's own shard: no lock, no allocation.
// Counts are since the process started (a restart forgets them) and are as fine as the buckets:
// "1h" is the current 5-minute bucket and the 11 before it.

#include "lacquer/metrics/registry.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lacquer::metrics {

struct UsageRing {
    std::uint32_t offset = 0;  // from the route's first slot
    std::uint32_t buckets = 0; // how many
    std::int64_t seconds = 0;  // one bucket's width
};

inline constexpr UsageRing kUsageLastHour{1, 12, 300};
inline constexpr UsageRing kUsageLastDay{13, 24, 3600};
inline constexpr UsageRing kUsageLastWeek{37, 28, 6 * 3600};
inline constexpr std::uint32_t kRouteUsageSlotCount = 37 + 28;

inline constexpr unsigned kUsageCountBits = 40;
inline constexpr std::uint64_t kUsageCountMask = (std::uint64_t{1} << kUsageCountBits) - 1;
inline constexpr std::uint64_t kUsageTagMask = (std::uint64_t{1} << (64 - kUsageCountBits)) - 1;

// On the worker that owns `shard`: one request to the route at `unix_seconds`.
inline void record_route_request(Shard& shard, RouteUsageSlots usage, std::int64_t unix_seconds) {
    if (usage.first == kNoSlot || unix_seconds <= 0) {
        return;
    }
    const auto now = static_cast<std::uint64_t>(unix_seconds);
    if (shard.get(usage.first) < now) { // the clock may step back: keep the latest
        shard.set(usage.first, now);
    }
    for (const UsageRing& ring : {kUsageLastHour, kUsageLastDay, kUsageLastWeek}) {
        const std::uint64_t period = now / static_cast<std::uint64_t>(ring.seconds);
        const std::uint32_t slot =
            usage.first + ring.offset + static_cast<std::uint32_t>(period % ring.buckets);
        const std::uint64_t tag = (period & kUsageTagMask) << kUsageCountBits;
        const std::uint64_t value = shard.get(slot);
        if ((value & ~kUsageCountMask) == tag && (value & kUsageCountMask) != kUsageCountMask) {
            shard.set(slot, value + 1);
        } else if ((value & ~kUsageCountMask) != tag) {
            shard.set(slot, tag | 1);
        }
    }
}

struct RouteUsage {
    std::string route;
    std::int64_t last_request = 0; // Unix seconds; 0: none since the process started
    std::uint64_t last_hour = 0;
    std::uint64_t last_day = 0;
    std::uint64_t last_week = 0;
};

// Any thread: the usage in `shards` at `unix_now` (the last time is the latest of the shards,
// the counts their sums).
RouteUsage read_route_usage(std::string route, RouteUsageSlots usage,
                            std::span<const Shard* const> shards, std::int64_t unix_now);
// Every route of `registry`, likewise.
std::vector<RouteUsage> read_route_usage(const Registry& registry,
                                         std::span<const Shard* const> shards,
                                         std::int64_t unix_now);

} // namespace lacquer::metrics
