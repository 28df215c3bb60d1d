// ObjectStore's eviction: the S3-FIFO and CLOCK policies, S3-FIFO's ghost list, and the walk
// over the shards that keeps the store within its byte budget (object_store.h says why).
#include "lacquer/cache/object_store.h"

#include <algorithm>
#include <bit>

namespace lacquer::cache {

namespace {
// The ghost list remembers about one hash per 2 KiB of budget (an API answer's median size),
// four bytes each: 0.2% of the budget, counted in it.
constexpr std::uint64_t kBudgetPerGhost = 2048;
constexpr std::size_t kMinGhostSlots = 16;      // per shard
constexpr std::size_t kMaxGhostSlots = 1 << 16; // per shard: 16 MiB for all shards at most
// The share of a shard's bytes that the small (probationary) queue holds before it gives up
// objects: a tenth, as the S3-FIFO paper chose.
constexpr std::uint64_t kSmallShareDivisor = 10;
} // namespace

ObjectStore::ObjectStore(std::uint64_t budget_bytes, config::Eviction policy)
    : policy_(policy), budget_(budget_bytes) {
    if (policy_ == config::Eviction::TinyLfu) {
        init_tinylfu(budget_bytes);
        return;
    }
    if (policy_ != config::Eviction::S3Fifo) {
        return;
    }
    const std::uint64_t wanted = budget_bytes / kBudgetPerGhost / kShards;
    ghost_slots_ = std::bit_ceil(
        std::clamp<std::size_t>(static_cast<std::size_t>(wanted), kMinGhostSlots, kMaxGhostSlots));
    ghosts_ = std::make_unique<std::uint32_t[]>(ghost_slots_ * kShards); // zero: empty
    for (std::size_t i = 0; i < kShards; ++i) {
        shards_[i].ghost = ghosts_.get() + i * ghost_slots_;
        shards_[i].small.all = &small_bytes_;
    }
    policy_bytes_ = ghost_slots_ * kShards * sizeof(std::uint32_t);
}

namespace {
// A hash's slot: the top bits of a multiplicative hash (the low bits also pick the shard's
// table buckets). 0 marks an empty slot, so a hash of 0 is kept as 1.
std::size_t ghost_slot(std::uint32_t hash, std::size_t slots) {
    const unsigned shift = 32 - static_cast<unsigned>(std::countr_zero(slots));
    return slots == 1 ? 0 : (hash * 2654435761U) >> shift;
}
std::uint32_t ghost_value(std::uint32_t hash) {
    return hash == 0 ? 1 : hash;
}
} // namespace

void ObjectStore::ghost_remember(Shard& s, std::uint32_t hash) const {
    s.ghost[ghost_slot(hash, ghost_slots_)] = ghost_value(hash); // the older one is forgotten
}

bool ObjectStore::ghost_recall(Shard& s, std::uint32_t hash) const {
    if (s.ghost == nullptr) {
        return false;
    }
    std::uint32_t& slot = s.ghost[ghost_slot(hash, ghost_slots_)];
    if (slot != ghost_value(hash)) {
        return false;
    }
    slot = 0;
    return true;
}

StoredObject* ObjectStore::clock_victim(Shard& s, bool force) {
    // Second chance: an object hit since it was last looked at moves to the front once, its
    // hits forgotten. Each object is looked at once per call: bounded by the shard's size.
    const std::uint64_t n = s.objects;
    for (std::uint64_t looked = 0; looked < n && s.main.tail != nullptr; ++looked) {
        StoredObject* o = s.main.tail;
        if (force || o->hits() == 0) {
            return o;
        }
        unlink(s.main, o);
        o->enter_queue(true);
        link_front(s.main, o);
    }
    return nullptr;
}

StoredObject* ObjectStore::s3fifo_victim(Shard& s, bool force) {
    // Each object is moved at most once per call (from small to main, or to main's front).
    // Which queue gives up an object is decided over the whole store: a shard whose small
    // queue is empty while the small queues hold more than their share evicts nothing (the
    // hand moves on), so that new objects never push out the main queue of another shard.
    const std::uint64_t n = s.objects;
    for (std::uint64_t looked = 0; looked < n; ++looked) {
        const bool small_over = small_bytes_.load(std::memory_order_relaxed) * kSmallShareDivisor >
                                bytes_.load(std::memory_order_relaxed);
        if (small_over && s.small.tail == nullptr && !force) {
            return nullptr;
        }
        const bool from_small = s.small.tail != nullptr && (small_over || s.main.tail == nullptr);
        if (from_small) {
            StoredObject* o = s.small.tail;
            if (!force && o->hits() > 0) {
                unlink(s.small, o); // hit on probation: it stays, in the main queue
                o->enter_queue(true);
                link_front(s.main, o);
                continue;
            }
            ghost_remember(s, o->hash());
            return o;
        }
        StoredObject* o = s.main.tail;
        if (o == nullptr) {
            return nullptr;
        }
        if (force || !o->spend_hit()) {
            return o;
        }
        unlink(s.main, o); // a second chance per hit, up to kMaxHits
        link_front(s.main, o);
    }
    return nullptr;
}

ObjectStore::Sweep ObjectStore::evict_one(Shard& s, bool force) {
    StoredObject* victim = nullptr;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.small.tail == nullptr && s.main.tail == nullptr &&
            s.protected_segment.tail == nullptr) {
            return Sweep::Empty;
        }
        switch (policy_) {
        case config::Eviction::Clock:
            victim = clock_victim(s, force);
            break;
        case config::Eviction::TinyLfu:
            victim = tinylfu_victim(s, force);
            break;
        case config::Eviction::S3Fifo:
            victim = s3fifo_victim(s, force);
            break;
        }
        if (victim == nullptr) {
            return Sweep::SecondChances;
        }
        detach(s, victim);
        ++s.evictions;
    }
    victim->unref();
    return Sweep::Evicted;
}

void ObjectStore::set_budget(std::uint64_t budget_bytes) {
    budget_.store(budget_bytes, std::memory_order_relaxed);
    evict_to_budget();
}

void ObjectStore::evict_to_budget() {
    // The hand sweeps the shards in turn, so eviction pressure spreads like one global CLOCK.
    // One lock at a time. After two full turns without a victim (everything was just hit),
    // the oldest objects go regardless: the budget is a hard bound.
    std::size_t without_victim = 0;
    std::size_t empty = 0;
    while (bytes_.load(std::memory_order_relaxed) + policy_bytes_ > budget() && empty < kShards) {
        const std::size_t index = hand_.fetch_add(1, std::memory_order_relaxed) % kShards;
        switch (evict_one(shards_[index], without_victim >= 2 * kShards)) {
        case Sweep::Evicted:
            without_victim = empty = 0;
            break;
        case Sweep::SecondChances:
            ++without_victim;
            empty = 0;
            break;
        case Sweep::Empty:
            ++without_victim;
            ++empty;
            break;
        }
    }
}

} // namespace lacquer::cache
