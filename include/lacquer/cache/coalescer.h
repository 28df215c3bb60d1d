#pragma once
// One origin fetch per key across all workers. The first miss on a key leads (it fetches);
// later misses wait for the leader's result and are woken once, on the leader's thread, through
// FillWaiter::wake (which hands the result to the waiter's own thread: no lock across I/O).
// When the leader's answer will be stored, its body is published as it arrives (publish()):
// waiters are woken with the stream then, and misses that come later get it at once.
// An uncacheable answer marks the key hit-for-miss for a while, so that later misses fetch in
// parallel instead of queueing; a failing refresh backs off. Thread-safe; sharded like the store.

#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/core/clock.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lacquer::cache {

enum class FillOutcome : std::uint8_t {
    Stored,      // `object` is the answer, now in the store
    Uncacheable, // fetch on your own (in parallel): the answer cannot be shared
    Failed,      // the origin failed: `error_status` (502/503/504 or the origin's 5xx)
    Streaming,   // `stream` is the answer's body as it arrives; it will be stored
};

struct FillResult {
    FillOutcome outcome = FillOutcome::Failed;
    ObjectRef object;
    int error_status = 0;
    StreamRef stream;
    std::uint32_t retry_after = 0; // seconds, for a Failed one the origin's admission refused
};

class FillWaiter {
public:
    virtual ~FillWaiter() = default;
    // Called once, on the filling thread, without any coalescer lock held.
    virtual void wake(const FillResult& result) = 0;
};

struct CoalescerStats {
    std::uint64_t leads = 0;        // fetches started for a key
    std::uint64_t waits = 0;        // misses that waited for another's fetch
    std::uint64_t hit_for_miss = 0; // misses sent to the origin because the key is uncacheable
    std::uint64_t in_flight = 0;    // keys with a fetch now
};

class Coalescer {
public:
    static constexpr std::size_t kShards = 64;
    enum class Join : std::uint8_t { Lead, Wait, HitForMiss };

    // A miss on `key`. Lead: the caller fetches and must call finish() whatever happens.
    // Wait: `waiter` is woken with the leader's result (or call leave()); when the leader's
    // body is being published it is woken at once with the stream. HitForMiss: the key
    // was found uncacheable recently; fetch without coalescing.
    Join join(const StoreKey& key, std::shared_ptr<FillWaiter> waiter, core::Instant now);

    // A background refresh of `key`: true when the caller should lead one (no fetch in flight
    // and no recent refresh failure); then it must call finish().
    bool lead_refresh(const StoreKey& key, core::Instant now);

    // The leader's answer will be stored: wakes every waiter with its body as it arrives;
    // later joins get the stream too, until finish().
    void publish(const StoreKey& key, const StreamRef& stream);

    // The leader's result: wakes every waiter. Uncacheable marks the key hit-for-miss for
    // `hit_for_miss`; a Failed refresh backs further refreshes off (1 s, doubling, at most 30 s).
    void finish(const StoreKey& key, const FillResult& result, core::Instant now,
                core::Millis hit_for_miss, bool was_refresh);

    // A waiter gives up (timeout, client gone). False when it was already woken (or never
    // waited): its result is on the way.
    bool leave(const StoreKey& key, const FillWaiter* waiter);

    CoalescerStats stats() const;
    // The keys starting with `prefix` (a BuiltKey::url: every variant of one URL) that have a
    // fetch in flight now. Visits every shard under its lock: for the admin API, not requests.
    std::vector<std::string> fetching(std::string_view prefix) const;

private:
    struct Entry {
        bool fetching = false;
        std::vector<std::shared_ptr<FillWaiter>> waiters;
        StreamRef stream; // the leader's body, once published
        core::Instant hit_for_miss_until{};
        core::Instant refresh_after{}; // refresh backoff
        std::uint32_t refresh_failures = 0;
    };
    // Looked up by the key's view: a join, publish or finish copies the key only when it
    // creates the entry.
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const noexcept {
            return std::hash<std::string_view>{}(key);
        }
    };
    using Entries = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
    // Entries swept, kept for the next keys (their node, key buffer and waiter list reused): a
    // miss allocates no entry in steady state. Bounded per shard.
    static constexpr std::size_t kSpareNodes = 8;
    struct Shard {
        mutable std::mutex mutex;
        // By full key; guarded by mutex.
        Entries entries;
        std::vector<Entries::node_type> spare; // guarded by mutex
    };
    // The entry of `key`, created when missing (lock held).
    static Entry& entry(Shard& s, std::string_view key);
    Shard& shard_for(const StoreKey& key) const { return shards_[(key.hash >> 52) % kShards]; }
    // Drops entries that no longer say anything (lock held): bounded work per call.
    static void sweep(Shard& s, core::Instant now);

    mutable std::array<Shard, kShards> shards_;
    std::atomic<std::uint64_t> leads_{0};
    std::atomic<std::uint64_t> waits_{0};
    std::atomic<std::uint64_t> hit_for_miss_{0};
};

} // namespace lacquer::cache
