// Stats snapshot and reset. A snapshot locks one shard at a time, so it is not a single instant
// across shards; for a test origin that is fine (tests read stats when traffic has stopped).
#include "demo_origin/stats.h"

#include "demo_origin/json.h"

namespace lacquer::demo_origin {

TargetCounts* Stats::find_or_add(Shard& shard, std::string_view target) {
    const auto it = shard.targets.find(target);
    if (it != shard.targets.end()) {
        return &it->second;
    }
    if (tracked_.fetch_add(1, std::memory_order_relaxed) >= kMaxTracked) {
        tracked_.fetch_sub(1, std::memory_order_relaxed);
        return nullptr;
    }
    return &shard.targets.emplace(std::string(target), TargetCounts{}).first->second;
}

std::string Stats::to_json() const {
    std::string out = "{\"requests\":";
    append_number(out, requests_.load(std::memory_order_relaxed));
    out += ",\"connections\":";
    append_number(out, connections_.load(std::memory_order_relaxed));
    out += ",\"by_target\":{";
    std::size_t listed = 0;
    for (const Shard& shard : shards_) {
        const std::lock_guard lock(shard.mutex);
        for (const auto& [target, counts] : shard.targets) {
            if (listed == kMaxListed) {
                break;
            }
            if (listed++ != 0) {
                out += ',';
            }
            append_json_string(out, target);
            out += ':';
            append_number(out, counts.requests);
        }
    }
    out += "}}";
    return out;
}

void Stats::reset() {
    for (Shard& shard : shards_) {
        const std::lock_guard lock(shard.mutex);
        shard.targets.clear();
    }
    tracked_.store(0, std::memory_order_relaxed);
    requests_.store(0, std::memory_order_relaxed);
    connections_.store(0, std::memory_order_relaxed);
}

} // namespace lacquer::demo_origin
