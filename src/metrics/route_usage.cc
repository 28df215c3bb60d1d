#include "lacquer/metrics/route_usage.h"

namespace lacquer::metrics {

namespace {

// The count of `ring`'s buckets that cover `now` and the periods before it, over every shard.
std::uint64_t ring_count(std::span<const Shard* const> shards, RouteUsageSlots usage,
                         const UsageRing& ring, std::uint64_t now) {
    const std::uint64_t current = now / static_cast<std::uint64_t>(ring.seconds);
    std::uint64_t total = 0;
    for (std::uint64_t back = 0; back < ring.buckets && back <= current; ++back) {
        const std::uint64_t period = current - back;
        const std::uint32_t slot =
            usage.first + ring.offset + static_cast<std::uint32_t>(period % ring.buckets);
        const std::uint64_t tag = (period & kUsageTagMask) << kUsageCountBits;
        for (const Shard* s : shards) {
            const std::uint64_t value = s->get(slot);
            if ((value & ~kUsageCountMask) == tag) {
                total += value & kUsageCountMask;
            }
        }
    }
    return total;
}

} // namespace

RouteUsage read_route_usage(std::string route, RouteUsageSlots usage,
                            std::span<const Shard* const> shards, std::int64_t unix_now) {
    RouteUsage u;
    u.route = std::move(route);
    if (usage.first == kNoSlot) {
        return u;
    }
    std::uint64_t last = 0;
    for (const Shard* s : shards) {
        last = std::max(last, s->get(usage.first));
    }
    u.last_request = static_cast<std::int64_t>(last);
    // A worker whose clock read a second ahead of ours: its bucket is still "now".
    const auto now = static_cast<std::uint64_t>(std::max(unix_now, u.last_request));
    if (now == 0) {
        return u;
    }
    u.last_hour = ring_count(shards, usage, kUsageLastHour, now);
    u.last_day = ring_count(shards, usage, kUsageLastDay, now);
    u.last_week = ring_count(shards, usage, kUsageLastWeek, now);
    return u;
}

std::vector<RouteUsage> read_route_usage(const Registry& registry,
                                         std::span<const Shard* const> shards,
                                         std::int64_t unix_now) {
    std::vector<RouteUsage> out;
    for (auto& [route, slots] : registry.route_usage_slots()) {
        out.push_back(read_route_usage(std::move(route), slots, shards, unix_now));
    }
    return out;
}

} // namespace lacquer::metrics
