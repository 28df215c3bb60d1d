#pragma once
// The shared cache: a hash table split into shards, each with its own lock held only for a
// lookup, an insert or an eviction step, never across I/O. A byte budget (storage.memory)
// bounds everything stored, bookkeeping included. Eviction is CLOCK (second chance) over an
// insertion-ordered list: a hit only sets a flag, so hits never reorder a list under the lock.
// Thread-safe: any worker may call any method.

#include "lacquer/cache/stored_object.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace lacquer::cache {

struct StoreStats {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;
    std::uint64_t evictions = 0;
};

class ObjectStore {
public:
    static constexpr std::size_t kShards = 64;

    explicit ObjectStore(std::uint64_t budget_bytes);
    ~ObjectStore();
    ObjectStore(const ObjectStore&) = delete;
    ObjectStore& operator=(const ObjectStore&) = delete;

    // The object stored under exactly `key` (hash and full key compared), or empty.
    ObjectRef lookup(std::uint64_t hash, std::string_view key) const;

    // Publishes `object` (the store takes one reference), replacing any object with the same
    // key, then evicts down to the budget. An object larger than the whole budget is refused.
    bool insert(ObjectRef object);

    // Removes the object stored under `key`; true when there was one.
    bool remove(std::uint64_t hash, std::string_view key);

    StoreStats stats() const;
    std::uint64_t budget() const { return budget_; }

    // Per-object bookkeeping outside the object's own allocation (hash node, allocator).
    static constexpr std::size_t kOverheadPerObject = 64;

private:
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::uint64_t, StoredObject*> table; // guarded by mutex
        StoredObject* head = nullptr;                           // newest; guarded by mutex
        StoredObject* tail = nullptr;                           // oldest; guarded by mutex
        std::uint64_t objects = 0;                              // guarded by mutex
        std::uint64_t evictions = 0;                            // guarded by mutex
    };
    Shard& shard_for(std::uint64_t hash) const { return shards_[(hash >> 58) % kShards]; }
    static void link_front(Shard& s, StoredObject* o);
    static void unlink(Shard& s, StoredObject* o);
    enum class Sweep : std::uint8_t { Evicted, SecondChances, Empty };
    // Evicts one object of `s` by second chance (`force`: the oldest, whatever its flag).
    Sweep evict_one(Shard& s, bool force);
    void evict_to_budget();

    std::uint64_t budget_;
    std::atomic<std::uint64_t> bytes_{0}; // across shards; the budget is global
    std::atomic<std::size_t> hand_{0};    // the CLOCK hand over the shards
    mutable std::array<Shard, kShards> shards_;
};

} // namespace lacquer::cache
