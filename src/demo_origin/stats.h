#pragma once
// The demo origin's counters, shared by all its threads: totals as relaxed atomics, and per-target
// counts in a map split into shards, each behind its own mutex, so threads rarely meet. The map
// stops growing at kMaxTracked targets (a benchmark may ask for millions of distinct URLs); beyond
// that a new target is counted in the totals only and reports served = 1.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lacquer::demo_origin {

struct TargetCounts {
    std::uint64_t requests = 0; // every request for the target, 304s included
    std::uint64_t served = 0;   // full answers: the representation's version number
};

struct Recorded : TargetCounts {
    bool not_modified = false; // this request is answered with 304
};

class Stats {
public:
    static constexpr std::size_t kMaxTracked = 200'000;
    static constexpr std::size_t kMaxListed = 10'000; // by_target entries in /__stats

    void count_connection() { connections_.fetch_add(1, std::memory_order_relaxed); }

    // Counts one request for `target`. `not_modified(served_so_far)` says whether this request is
    // answered with 304 (then `served` stays); it runs under the shard lock, so the check and the
    // count are one step even when threads race on the same target.
    template <typename NotModified>
    Recorded record(std::string_view target, NotModified&& not_modified) {
        requests_.fetch_add(1, std::memory_order_relaxed);
        Shard& shard = shard_for(target);
        const std::lock_guard lock(shard.mutex);
        Recorded out;
        TargetCounts* counts = find_or_add(shard, target);
        TargetCounts untracked;
        if (counts == nullptr) {
            counts = &untracked;
        }
        ++counts->requests;
        out.not_modified = not_modified(counts->served);
        if (!out.not_modified) {
            ++counts->served;
        }
        out.requests = counts->requests;
        out.served = counts->served;
        return out;
    }

    // {"requests":R,"connections":C,"by_target":{...}} with at most kMaxListed targets.
    std::string to_json() const;
    void reset();

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, TargetCounts, Hash, std::equal_to<>> targets;
    };
    static constexpr std::size_t kShards = 16;

    Shard& shard_for(std::string_view target) { return shards_[Hash{}(target) % kShards]; }
    TargetCounts* find_or_add(Shard& shard, std::string_view target);

    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> connections_{0};
    std::atomic<std::size_t> tracked_{0};
    Shard shards_[kShards];
};

} // namespace lacquer::demo_origin
