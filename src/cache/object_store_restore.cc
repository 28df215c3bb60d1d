// ObjectStore::restore(): a snapshot's objects back in their eviction queues (warm restart,
// issue 21). Apart from insert() because it places rather than admits: no ghost list, no
// replacement of a newer object, and behind the objects already in the queue. W-TinyLFU's
// segments and sketch counts come back too (issue 22).
#include "lacquer/cache/object_store.h"

#include <algorithm>

namespace lacquer::cache {

void ObjectStore::link_back(Fifo& f, StoredObject* o) {
    o->lru_next = nullptr;
    o->lru_prev = f.tail;
    if (f.tail != nullptr) {
        f.tail->lru_next = o;
    }
    f.tail = o;
    if (f.head == nullptr) {
        f.head = o;
    }
    f.bytes += o->charge();
    if (f.all != nullptr) {
        f.all->fetch_add(o->charge(), std::memory_order_relaxed);
    }
}

ObjectStore::QueuePlace ObjectStore::queue_place(const StoredObject& o) const {
    QueuePlace place{o.in_main(), o.hits(), o.in_main() && o.in_protected(), 0};
    if (policy_ == config::Eviction::TinyLfu) {
        place.frequency = static_cast<std::uint8_t>(estimated_frequency(o.url_hash(), o.hash()));
    }
    return place;
}

namespace {
// W-TinyLFU: what the sketch should say of a restored object whose writer had no sketch (an
// S3-FIFO or CLOCK store, or format version 2): its fill counted once, a main object was asked
// at least once more to get there (S3-FIFO), and its hits since it entered its queue.
std::uint32_t restored_frequency(const ObjectStore::QueuePlace& place) {
    if (place.frequency != 0) {
        return place.frequency;
    }
    return 1U + (place.main ? 1U : 0U) + std::min(place.hits, StoredObject::kMaxHits);
}
} // namespace

ObjectStore::Restored ObjectStore::restore(ObjectRef object, QueuePlace place) {
    StoredObject* o = object.get();
    if (o == nullptr || o->charge() + policy_bytes_ > budget()) {
        return Restored::OverBudget;
    }
    const bool tinylfu = policy_ == config::Eviction::TinyLfu;
    const bool main = place.main || policy_ == config::Eviction::Clock;
    Shard& s = shard_for(o->url_hash());
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        for (StoredObject* c = s.by_hash.chain(o->hash()); c != nullptr; c = c->hash_next) {
            if (c->hash() == o->hash() && c->key() == o->key()) {
                return Restored::NewerStored;
            }
        }
        s.by_hash.insert_front(o);
        s.by_url.insert_front(o);
        Fifo* queue = main ? &s.main : &s.small;
        if (tinylfu && main && place.protected_segment) {
            o->enter_protected();
            queue = &s.protected_segment;
        } else {
            o->enter_queue(main);
        }
        for (std::uint8_t i = 0; i < std::min(place.hits, StoredObject::kMaxHits); ++i) {
            o->note_hit();
        }
        if (tinylfu) {
            s.sketch.raise(static_cast<std::uint32_t>(o->hash()), restored_frequency(place));
        }
        link_back(*queue, object.release());
        ++s.objects;
        bytes_.fetch_add(o->charge(), std::memory_order_relaxed);
        if (tinylfu) {
            // S3-FIFO's small queue is ten times W-TinyLFU's window: what overflows it goes on
            // probation while there is room, as insert() does.
            tinylfu_drain_window(s);
        }
    }
    evict_to_budget();
    return Restored::Yes;
}

std::vector<ObjectStore::Ghost> ObjectStore::ghosts() const {
    std::vector<Ghost> out;
    for (std::size_t i = 0; ghost_slots_ > 0 && i < kShards; ++i) {
        const Shard& s = shards_[i];
        std::lock_guard<std::mutex> lock(s.mutex);
        for (std::size_t slot = 0; slot < ghost_slots_; ++slot) {
            if (s.ghost[slot] != 0) {
                out.push_back({static_cast<std::uint32_t>(i), s.ghost[slot]});
            }
        }
    }
    return out;
}

void ObjectStore::restore_ghosts(const std::vector<Ghost>& ghosts) {
    if (ghost_slots_ == 0) {
        return;
    }
    for (const Ghost& g : ghosts) {
        if (g.shard < kShards && g.hash != 0) {
            Shard& s = shards_[g.shard];
            std::lock_guard<std::mutex> lock(s.mutex);
            ghost_remember(s, g.hash);
        }
    }
}

} // namespace lacquer::cache
