#pragma once
// The shared cache: a hash table split into shards, each with its own lock held only for a
// lookup, an insert or an eviction step, never across I/O. A byte budget (storage.memory)
// bounds everything stored, bookkeeping included. Eviction is S3-FIFO (Yang et al., SOSP 2023)
// by default: a new object enters a small probationary FIFO (a tenth of the bytes) and is
// dropped from there unless it was hit meanwhile, when it moves to the main FIFO, where a hit
// object gets a second chance per hit (up to 3); a ghost list of the hashes dropped from the small
// FIFO sends an object asked again soon after straight to the main one. One-hit wonders and scans
// then pass through the small FIFO without pushing the hot set out. W-TinyLFU (tinylfu.cc) is
// the other frequency-aware choice: a window FIFO of 1% of the bytes in front of a main queue
// split into probation and protected segments (20/80), where an object leaving the window is
// admitted only if a count-min sketch (frequency_sketch.h) says it was asked more often than
// the object it would push out. CLOCK (second chance over one insertion-ordered list) stays
// selectable (storage.eviction) for comparison. Whatever the policy a hit only counts, in the
// object (StoredObject::note_hit) and with W-TinyLFU in the shard's sketch under the lock the
// lookup holds anyway (while the object's own count is not full; one in kSaturatedHitSample
// past that, so a hot object's hit touches no sketch line), so hits never reorder a list;
// perf/store_sim compares the policies.
// Objects of one hash sit in one chain of the table by hash: the Vary variants of a key (at
// most kMaxVaryVariants), and in theory other keys of the same hash (the full key is compared).
// Every object of one URL (all its variants) lives in one shard, indexed by the URL's hash, so
// that invalidation and purge by URL take one lock. Thread-safe: any worker may call any method.

#include "lacquer/cache/frequency_sketch.h"
#include "lacquer/cache/object_table.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/config/config.h"
#include "lacquer/http/head.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace lacquer::cache {

struct StoreStats {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;
    std::uint64_t evictions = 0;
};

class ObjectStore {
public:
    static constexpr std::size_t kShards = 64;

    explicit ObjectStore(std::uint64_t budget_bytes,
                         config::Eviction policy = config::Eviction::S3Fifo);
    ~ObjectStore();
    ObjectStore(const ObjectStore&) = delete;
    ObjectStore& operator=(const ObjectStore&) = delete;

    static constexpr std::size_t kMaxVaryVariants = 8; // objects per key

    // The newest object stored under exactly `key` (hash and full key compared) whose Vary
    // spec matches `request` (nullptr: a request without headers), or empty.
    ObjectRef lookup(const StoreKey& key, const http::HeaderList* request = nullptr) const;

    // Publishes `object` (the store takes one reference), replacing the object of the same key
    // and Vary values, and those of the same key that vary on other headers (the origin
    // changed its mind), then evicts down to the budget. An object larger than the whole
    // budget is refused.
    bool insert(ObjectRef object);

    // Every object whose key starts with `url` (BuiltKey::url: all variants of one URL), newest
    // first, referenced (for the admin API's inspection; one shard lock, briefly).
    std::vector<ObjectRef> objects_of_url(std::uint64_t url_hash, std::string_view url) const;

    // Removes every object stored under `key`; how many there were.
    std::size_t remove(const StoreKey& key);
    // Removes every object whose key starts with `url` (BuiltKey::url), all variants; how many.
    std::size_t remove_url(std::uint64_t url_hash, std::string_view url);
    // Removes every object that satisfies `match` (purge and ban: visits every object); how
    // many. `match` never runs under a shard lock, so however long it takes, lookups and
    // inserts go on: each shard's objects are referenced under its lock, matched unlocked, and
    // the matches still stored are then removed under the lock again. An object stored
    // meanwhile is not visited.
    std::size_t remove_if(const std::function<bool(const StoredObject&)>& match);
    // Soft purge: the objects remove_url / remove_if would take are marked stale from `at`
    // instead (StoredObject::mark_stale); how many. `match` runs as for remove_if.
    std::size_t mark_stale_url(std::uint64_t url_hash, std::string_view url, core::Instant at);
    std::size_t mark_stale_if(const std::function<bool(const StoredObject&)>& match,
                              core::Instant at);

    // Calls visit(o) for every stored object, shard by shard (a snapshot write): each shard's
    // objects are referenced under its lock and visited without it, as remove_if's match, so a
    // slow visit never stalls lookups and inserts. An object stored meanwhile may be missed.
    void visit(const std::function<void(const StoredObject&)>& visit) const;

    // --- Warm restart (object_store_restore.cc) ---
    // Where a snapshot says an object was in the eviction order: its queue and its hits, and
    // with W-TinyLFU its segment and its count in the sketch.
    struct QueuePlace {
        bool main = false;     // S3-FIFO's main queue, W-TinyLFU's main (CLOCK has only that)
        std::uint8_t hits = 0; // up to StoredObject::kMaxHits
        bool protected_segment = false; // W-TinyLFU: in main's protected segment
        std::uint8_t frequency = 0;     // W-TinyLFU: the sketch's estimate (0..15); 0 unknown
    };
    enum class Restored : std::uint8_t { Yes, OverBudget, NewerStored };
    // A snapshot's object put back where it was: in its queue with its hits, behind the objects
    // restored before it (a snapshot lists each shard's queues newest first), so the hot set
    // comes back in the main queue and the first scan after a restart passes it by. An object
    // whose key is already stored is not restored (the stored one came from the origin since:
    // it is newer). Whatever policy wrote the place, the store's own takes what it has: S3-FIFO
    // reads W-TinyLFU's window as its small queue and both main segments as its main queue;
    // W-TinyLFU reads S3-FIFO's (or CLOCK's) main queue as probation, and raises the object's
    // sketch counters to `frequency`, or when the writer had no sketch to what the hits and
    // the queue say (at least one request, two for main, plus the hits); CLOCK puts all in
    // its one queue.
    Restored restore(ObjectRef object, QueuePlace place);
    // Where `o` is in the eviction order now (for a snapshot's record). With W-TinyLFU it takes
    // the shard's lock to read the sketch: call it with no shard lock held (visit()'s callback).
    QueuePlace queue_place(const StoredObject& o) const;
    // S3-FIFO's ghost list (the hashes lately dropped from the small queue, which go straight
    // to the main queue when asked again), each with its shard; remembered again on restore
    // (a store of another size keeps those its slots have room for). Empty with CLOCK.
    struct Ghost {
        std::uint32_t shard = 0;
        std::uint32_t hash = 0;
    };
    std::vector<Ghost> ghosts() const;
    void restore_ghosts(const std::vector<Ghost>& ghosts);

    StoreStats stats() const;
    std::uint64_t budget() const { return budget_.load(std::memory_order_relaxed); }
    // A reload's storage.memory: a smaller budget evicts down to it now.
    void set_budget(std::uint64_t budget_bytes);

    // Per-object bookkeeping outside the object's own allocation: malloc's chunk header and
    // rounding (up to 24 bytes) and its share of the buckets (8 to 16 bytes in the key index,
    // 2 to 4 in the URL index).
    static constexpr std::size_t kOverheadPerObject = 64;
    config::Eviction policy() const { return policy_; }
    // The policy's own memory (S3-FIFO's ghost list, W-TinyLFU's sketches), counted against
    // the budget beside the objects' charge (stats().bytes).
    std::uint64_t policy_bytes() const { return policy_bytes_; }
    // W-TinyLFU's estimate of how often `hash` (StoreKey::hash) was asked lately (0..15); 0 with
    // the other policies. For tests and the simulator: takes the shard's lock.
    std::uint32_t estimated_frequency(std::uint64_t url_hash, std::uint64_t hash) const;

private:
    // An insertion-ordered list (newest at head) of a shard's objects, linked through
    // StoredObject::lru_prev/lru_next, with their charge.
    struct Fifo {
        StoredObject* head = nullptr;
        StoredObject* tail = nullptr;
        std::uint64_t bytes = 0;
        std::atomic<std::uint64_t>* all = nullptr; // also counts the bytes of every such list
    };
    struct Shard {
        mutable std::mutex mutex;
        ObjectTable<&StoredObject::hash_next, &StoredObject::hash> by_hash; // guarded
        // Walked by purge, invalidation and insert, never by a lookup: 4 objects a bucket.
        ObjectTable<&StoredObject::url_next, &StoredObject::url_hash, 4> by_url; // guarded
        Fifo small; // S3-FIFO's probationary queue, W-TinyLFU's window; guarded by mutex
        Fifo main;  // S3-FIFO's main queue, CLOCK's only one, W-TinyLFU's probation; guarded
        Fifo protected_segment;           // W-TinyLFU's protected segment of main; guarded
        FrequencySketch sketch;           // W-TinyLFU's admission filter; guarded
        std::uint32_t* ghost = nullptr;   // S3-FIFO: hashes dropped from `small`, direct-mapped
        std::uint64_t objects = 0;        // guarded by mutex
        std::uint64_t evictions = 0;      // guarded by mutex
        std::uint32_t saturated_hits = 0; // W-TinyLFU: hits past kMaxHits, sampled; guarded
    };
    // W-TinyLFU counts one in this many hits of an object whose own count is full (lookup()).
    static constexpr std::uint32_t kSaturatedHitSample = 8;
    // Bits 26-31: objects keep only the low 32 bits of the hash, and the URL index of a shard
    // uses the lowest bits for its buckets.
    Shard& shard_for(std::uint64_t url_hash) const { return shards_[(url_hash >> 26) % kShards]; }
    static void link_front(Fifo& f, StoredObject* o);
    static void unlink(Fifo& f, StoredObject* o);
    static void link_back(Fifo& f, StoredObject* o); // restore(): behind the others
    static Fifo& fifo_of(Shard& s, const StoredObject* o) {
        if (!o->in_main()) {
            return s.small;
        }
        return o->in_protected() ? s.protected_segment : s.main;
    }
    // S3-FIFO's ghost list (lock held): remember a hash; forget it and say whether it was there.
    void ghost_remember(Shard& s, std::uint32_t hash) const;
    bool ghost_recall(Shard& s, std::uint32_t hash) const;
    // Takes `o` out of the table, the URL index and the eviction list (lock held); the caller
    // drops the store's reference after unlocking.
    void detach(Shard& s, StoredObject* o);
    // Calls visit(o) for each object of `s` whose key starts with `url` (lock held).
    template <class Visit>
    static void each_of_url(const Shard& s, std::uint64_t url_hash, std::string_view url,
                            Visit visit);
    // Calls visit(o) for each object of `s`, newest first (lock held).
    template <class Visit> static void each_object(const Shard& s, Visit visit);
    // Locks `s`, detaches each object select(take) passes to take, unlocks, then drops the
    // store's references; how many.
    template <class Select> std::size_t remove_from(Shard& s, Select select);
    // The objects of `s` that satisfy `match`, which runs with no lock held (see remove_if).
    static void matching(Shard& s, const std::function<bool(const StoredObject&)>& match,
                         std::vector<ObjectRef>& out);
    // True while `o` is in `s` (lock held): the eviction list holds every stored object, and
    // detach() unlinks it from there.
    static bool is_stored(const Shard& s, const StoredObject* o) {
        return o->lru_prev != nullptr || s.main.head == o || s.small.head == o ||
               s.protected_segment.head == o;
    }
    enum class Sweep : std::uint8_t { Evicted, SecondChances, Empty };
    // Evicts one object of `s` by the policy (`force`: the oldest, whatever its hits).
    Sweep evict_one(Shard& s, bool force);
    // The policy's choice (lock held): the object to evict, or nullptr after a bounded number
    // of second chances (eviction.cc).
    StoredObject* clock_victim(Shard& s, bool force);
    StoredObject* s3fifo_victim(Shard& s, bool force);
    StoredObject* tinylfu_victim(Shard& s, bool force);
    void init_tinylfu(std::uint64_t budget_bytes); // the sketches, sized by the budget
    // W-TinyLFU, on insert (lock held): while the main queues have room, the window's overflow
    // moves to probation with no contest (a store filling up evicts nothing to compare).
    void tinylfu_drain_window(Shard& s);
    // W-TinyLFU's main queue, one step (lock held): the object it gives up, or nullptr after
    // moving one between or within its segments (tinylfu.cc).
    static StoredObject* tinylfu_main_step(Shard& s, bool force);
    void evict_to_budget();

    const config::Eviction policy_;
    std::size_t ghost_slots_ = 0;             // per shard, a power of two (0 with CLOCK)
    std::unique_ptr<std::uint32_t[]> ghosts_; // every shard's ghost slots
    std::uint64_t policy_bytes_ = 0; // the ghost slots or the sketch, counted in the budget
    std::atomic<std::uint64_t> budget_;
    std::atomic<std::uint64_t> bytes_{0}; // across shards; the budget is global
    std::atomic<std::size_t> hand_{0};    // the eviction hand over the shards
    // The bytes in every shard's small queue: S3-FIFO evicts from the small queues while they
    // hold more than their share of the whole store, wherever the new objects went.
    std::atomic<std::uint64_t> small_bytes_{0};
    mutable std::array<Shard, kShards> shards_;
};

} // namespace lacquer::cache
