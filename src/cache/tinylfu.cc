// ObjectStore's W-TinyLFU policy (storage.eviction: tinylfu): Caffeine's design (Einziger,
// Eytan, Friedman and Manes, "Adaptive Software Cache Management", Middleware 2018) with a fixed
// window, and FIFO lists with second chances where Caffeine keeps LRU lists, so that a hit
// reorders nothing (object_store.h). A new object enters the window (1% of the store's bytes);
// the window's oldest, the candidate, then meets the object the main queue would give up, the
// victim, and the one the sketch says was asked less often lately is evicted (a tie keeps the
// victim: one-hit wonders and scans never get in). The main queue is segmented: an object hit on
// probation moves to the protected segment (80% of the shard's main bytes), whose oldest goes
// back on probation unless hit since. Per shard, as the rest of the store; the window's share is
// over the whole store, as S3-FIFO's small queue (eviction.cc says why).
#include "lacquer/cache/object_store.h"

#include <algorithm>

namespace lacquer::cache {

namespace {
// One sketch word (sixteen 4-bit counters: four per row, the rows of about four objects) per
// 2 KiB of budget, an API answer's median size, as Caffeine sizes its sketch by the maximum
// number of entries: 8 bytes per 2 KiB, 0.4% of the budget, counted in it.
constexpr std::uint64_t kBudgetPerSketchWord = 2048;
constexpr std::size_t kMinSketchWords = 64; // per shard
// The window holds 1% of the bytes (Caffeine's starting share), protected 80% of main's.
constexpr std::uint64_t kWindowShareDivisor = 100;
constexpr std::uint64_t kProtectedPercent = 80;
// Each object moves a bounded number of times per victim search: promoted once, demoted once,
// a second chance per hit (up to kMaxHits); past that the hand moves on.
constexpr std::uint64_t kMovesPerObject = 2 + StoredObject::kMaxHits;
} // namespace

void ObjectStore::init_tinylfu(std::uint64_t budget_bytes) {
    const auto words = static_cast<std::size_t>(budget_bytes / kBudgetPerSketchWord / kShards);
    std::uint64_t bytes = 0;
    for (Shard& s : shards_) {
        s.sketch.resize(std::max(words, kMinSketchWords));
        s.small.all = &small_bytes_;
        bytes += s.sketch.bytes();
    }
    policy_bytes_ = bytes;
}

StoredObject* ObjectStore::tinylfu_main_step(Shard& s, bool force) {
    Fifo& kept = s.protected_segment;
    if (!force && kept.tail != nullptr &&
        kept.bytes * 100 > (kept.bytes + s.main.bytes) * kProtectedPercent) {
        StoredObject* o = kept.tail; // protected over its share: its oldest goes on probation
        unlink(kept, o);
        if (o->spend_hit()) {
            link_front(kept, o); // unless hit since it was last looked at
        } else {
            o->enter_queue(true);
            link_front(s.main, o);
        }
        return nullptr;
    }
    if (StoredObject* o = s.main.tail) {
        if (force || o->hits() == 0) {
            return o;
        }
        unlink(s.main, o); // hit on probation: protected
        o->enter_protected();
        link_front(kept, o);
        return nullptr;
    }
    StoredObject* o = kept.tail; // probation is empty: protected gives one up
    if (o == nullptr || force || !o->spend_hit()) {
        return o;
    }
    unlink(kept, o);
    link_front(kept, o);
    return nullptr;
}

namespace {
// What the objects may use of the budget once the policy's own bytes are taken out, and the
// window's share of it.
struct Shares {
    std::uint64_t objects;
    std::uint64_t window;
};
Shares shares(std::uint64_t budget, std::uint64_t policy_bytes) {
    const std::uint64_t objects = budget > policy_bytes ? budget - policy_bytes : 0;
    return {objects, objects / kWindowShareDivisor};
}
} // namespace

void ObjectStore::tinylfu_drain_window(Shard& s) {
    const Shares share = shares(budget(), policy_bytes_);
    // While the store is under its budget, as Caffeine does on every write; over it, eviction
    // makes them contest. A few objects per insert at most: the window gains one.
    for (int moved = 0; moved < 4 && s.small.tail != nullptr; ++moved) {
        const std::uint64_t window = small_bytes_.load(std::memory_order_relaxed);
        if (window <= share.window || bytes_.load(std::memory_order_relaxed) >= share.objects) {
            return;
        }
        StoredObject* o = s.small.tail;
        unlink(s.small, o);
        o->enter_queue(true);
        link_front(s.main, o);
    }
}

StoredObject* ObjectStore::tinylfu_victim(Shard& s, bool force) {
    // Over the budget, the window's oldest must win its place from main's victim (Caffeine's
    // evictFromMain). A shard with nothing in its window gives nothing up while other windows
    // hold objects, so that new objects never push out a main queue uncontested.
    const std::uint64_t moves = kMovesPerObject * s.objects + 1;
    for (std::uint64_t step = 0; step < moves; ++step) {
        StoredObject* candidate = s.small.tail;
        const bool main_empty = s.main.tail == nullptr && s.protected_segment.tail == nullptr;
        if (force) {
            return candidate != nullptr ? candidate : tinylfu_main_step(s, true);
        }
        if (candidate == nullptr) {
            if (small_bytes_.load(std::memory_order_relaxed) > 0) {
                return nullptr;
            }
            if (StoredObject* o = tinylfu_main_step(s, false)) {
                return o;
            }
            continue;
        }
        // A shard whose main queue is empty admits for free (it has nothing to compare).
        StoredObject* victim = main_empty ? nullptr : tinylfu_main_step(s, false);
        if (!main_empty && victim == nullptr) {
            continue; // the main queue moved one object: look again
        }
        if (victim != nullptr &&
            s.sketch.frequency(static_cast<std::uint32_t>(candidate->hash())) <=
                s.sketch.frequency(static_cast<std::uint32_t>(victim->hash()))) {
            return candidate; // a tie keeps the victim
        }
        unlink(s.small, candidate); // admitted, on probation
        candidate->enter_queue(true);
        link_front(s.main, candidate);
        if (victim != nullptr) {
            return victim;
        }
    }
    return nullptr;
}

} // namespace lacquer::cache
