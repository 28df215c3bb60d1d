#include "lacquer/cache/object_store.h"

#include "lacquer/cache/vary.h"
#include "lacquer/core/assert.h"

#include <vector>

namespace lacquer::cache {

ObjectStore::~ObjectStore() {
    for (Shard& s : shards_) {
        for (Fifo* f : {&s.small, &s.main, &s.protected_segment}) {
            for (StoredObject* o = f->head; o != nullptr;) {
                StoredObject* next = o->lru_next;
                o->unref();
                o = next;
            }
        }
    }
}

void ObjectStore::link_front(Fifo& f, StoredObject* o) {
    o->lru_prev = nullptr;
    o->lru_next = f.head;
    if (f.head != nullptr) {
        f.head->lru_prev = o;
    }
    f.head = o;
    if (f.tail == nullptr) {
        f.tail = o;
    }
    f.bytes += o->charge();
    if (f.all != nullptr) {
        f.all->fetch_add(o->charge(), std::memory_order_relaxed);
    }
}

void ObjectStore::unlink(Fifo& f, StoredObject* o) {
    if (o->lru_prev != nullptr) {
        o->lru_prev->lru_next = o->lru_next;
    } else {
        f.head = o->lru_next;
    }
    if (o->lru_next != nullptr) {
        o->lru_next->lru_prev = o->lru_prev;
    } else {
        f.tail = o->lru_prev;
    }
    o->lru_prev = o->lru_next = nullptr;
    f.bytes -= o->charge();
    if (f.all != nullptr) {
        f.all->fetch_sub(o->charge(), std::memory_order_relaxed);
    }
}

void ObjectStore::detach(Shard& s, StoredObject* o) {
    s.by_hash.erase(o);
    s.by_url.erase(o);
    unlink(fifo_of(s, o), o);
    --s.objects;
    bytes_.fetch_sub(o->charge(), std::memory_order_relaxed);
}

ObjectRef ObjectStore::lookup(const StoreKey& key, const http::HeaderList* request) const {
    Shard& s = shard_for(key.url_hash);
    // W-TinyLFU: the block a hit may count in loads while the lock is taken and the chain
    // walked. Most hits of a hot set will not count (below), but the prefetch is cheap and the
    // hits that do count (an object's first ones) are the tail's, whose block is cold
    // (perf/bench/micro_store.cc zipf_hit: 161 ns with it, 200 without, S3-FIFO 160).
    s.sketch.prefetch(static_cast<std::uint32_t>(key.hash));
    std::lock_guard<std::mutex> lock(s.mutex);
    for (StoredObject* o = s.by_hash.chain(key.hash); o != nullptr; o = o->hash_next) {
        if (!o->has_hash(key.hash) || o->key() != key.key || !vary_matches(o->vary(), request)) {
            continue;
        }
        // W-TinyLFU counts the hit in the sketch while the object's own count is not full: an
        // object hit kMaxHits times since it entered its queue (or last spent a second chance)
        // is in no danger of eviction, and its sketch block is then neither read nor written,
        // which spares a cold line per hit on a store larger than the CPU's caches (the block
        // was a miss on most such hits: perf/bench/micro_store.cc). The eviction hand spends
        // those hits, and the hits after that count again; meanwhile one hit in
        // kSaturatedHitSample counts, so the sketch still ranks a hot object above a warm one
        // when it comes back on probation (perf/store_sim: the same hit ratios within 0.4).
        if (policy_ == config::Eviction::TinyLfu &&
            (o->hits() < StoredObject::kMaxHits ||
             (++s.saturated_hits & (kSaturatedHitSample - 1)) == 0)) {
            s.sketch.increment(static_cast<std::uint32_t>(key.hash)); // four words, no allocation
        }
        o->note_hit(); // for eviction: writes nothing once the count is full
        o->ref();
        return ObjectRef(o);
    }
    return ObjectRef();
}

bool ObjectStore::insert(ObjectRef object) {
    StoredObject* o = object.get();
    if (o == nullptr || o->charge() + policy_bytes_ > budget()) {
        return false;
    }
    Shard& s = shard_for(o->url_hash());
    // W-TinyLFU counts every fill: its sketch block loads while the lock is taken.
    s.sketch.prefetch(static_cast<std::uint32_t>(o->hash()));
    std::vector<StoredObject*> dropped; // unreferenced after unlocking
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        // Same key: drop the object of the same Vary values (replaced) and those that vary on
        // other headers; past the cap, the oldest variant goes.
        std::size_t same_key = 0;
        StoredObject* oldest = nullptr;
        for (StoredObject* c = s.by_hash.chain(o->hash()); c != nullptr; c = c->hash_next) {
            if (c->hash() == o->hash() && c->key() == o->key()) {
                if (c->vary() == o->vary() || !vary_names_equal(c->vary(), o->vary())) {
                    dropped.push_back(c);
                } else {
                    ++same_key;
                    oldest = c; // the chain runs newest first
                }
            }
        }
        if (same_key >= kMaxVaryVariants && oldest != nullptr) {
            dropped.push_back(oldest);
        }
        for (StoredObject* c : dropped) {
            detach(s, c);
        }
        s.by_hash.insert_front(o); // newest first
        s.by_url.insert_front(o);
        // S3-FIFO: new objects start on probation, unless dropped from there lately (the
        // ghost list): asked again so soon, they go straight to the main queue. W-TinyLFU: in
        // the window, the fill's request counted in the sketch (the miss before it was not).
        if (policy_ == config::Eviction::TinyLfu) {
            s.sketch.increment(static_cast<std::uint32_t>(o->hash()));
        }
        const bool main = policy_ == config::Eviction::Clock || ghost_recall(s, o->hash());
        o->enter_queue(main);
        link_front(main ? s.main : s.small, object.release());
        ++s.objects;
        bytes_.fetch_add(o->charge(), std::memory_order_relaxed);
        if (policy_ == config::Eviction::TinyLfu) {
            tinylfu_drain_window(s);
        }
    }
    for (StoredObject* c : dropped) {
        c->unref(); // outside the lock: the last reference frees memory
    }
    evict_to_budget();
    return true;
}

namespace {

// True when `o` is one of the objects of the URL (any variant): its key starts with `url`.
bool of_url(const StoredObject& o, std::uint64_t url_hash, std::string_view url) {
    return o.has_url_hash(url_hash) && o.key().substr(0, url.size()) == url;
}

} // namespace

template <class Visit>
void ObjectStore::each_of_url(const Shard& s, std::uint64_t url_hash, std::string_view url,
                              Visit visit) {
    for (StoredObject* o = s.by_url.chain(url_hash); o != nullptr; o = o->url_next) {
        if (of_url(*o, url_hash, url)) {
            visit(o);
        }
    }
}

template <class Visit> void ObjectStore::each_object(const Shard& s, Visit visit) {
    for (const Fifo* f : {&s.small, &s.main, &s.protected_segment}) {
        for (StoredObject* o = f->head; o != nullptr; o = o->lru_next) {
            visit(o);
        }
    }
}

template <class Select> std::size_t ObjectStore::remove_from(Shard& s, Select select) {
    std::vector<StoredObject*> victims;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        select([&victims](StoredObject* o) { victims.push_back(o); });
        for (StoredObject* o : victims) {
            detach(s, o);
        }
    }
    for (StoredObject* o : victims) {
        o->unref(); // outside the lock: the last reference frees memory
    }
    return victims.size();
}

std::size_t ObjectStore::remove(const StoreKey& key) {
    Shard& s = shard_for(key.url_hash);
    return remove_from(s, [&](auto take) {
        for (StoredObject* o = s.by_hash.chain(key.hash); o != nullptr; o = o->hash_next) {
            if (o->has_hash(key.hash) && o->key() == key.key) {
                take(o);
            }
        }
    });
}

std::vector<ObjectRef> ObjectStore::objects_of_url(std::uint64_t url_hash,
                                                   std::string_view url) const {
    std::vector<ObjectRef> out;
    Shard& s = shard_for(url_hash);
    std::lock_guard<std::mutex> lock(s.mutex);
    each_of_url(s, url_hash, url, [&out](StoredObject* o) {
        o->ref();
        out.emplace_back(o);
    });
    return out;
}

std::size_t ObjectStore::remove_url(std::uint64_t url_hash, std::string_view url) {
    Shard& s = shard_for(url_hash);
    return remove_from(s, [&](auto take) { each_of_url(s, url_hash, url, take); });
}

void ObjectStore::matching(Shard& s, const std::function<bool(const StoredObject&)>& match,
                           std::vector<ObjectRef>& out) {
    out.clear();
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        out.reserve(s.objects);
        each_object(s, [&out](StoredObject* o) {
            o->ref();
            out.emplace_back(o);
        });
    }
    // Unlocked: a ban's regex over every URL, or any other caller's test, never stalls the
    // hits and inserts of this shard. The references keep the objects alive meanwhile.
    std::erase_if(out, [&match](const ObjectRef& o) { return !match(*o); });
}

std::size_t ObjectStore::remove_if(const std::function<bool(const StoredObject&)>& match) {
    std::size_t removed = 0;
    std::vector<ObjectRef> matched;
    for (Shard& s : shards_) {
        matching(s, match, matched);
        if (matched.empty()) {
            continue;
        }
        removed += remove_from(s, [&](auto take) {
            for (const ObjectRef& o : matched) {
                if (is_stored(s, o.get())) { // not removed or replaced in between
                    take(o.get());
                }
            }
        });
        matched.clear(); // outside the lock: the last reference frees memory
    }
    return removed;
}

std::size_t ObjectStore::mark_stale_url(std::uint64_t url_hash, std::string_view url,
                                        core::Instant at) {
    Shard& s = shard_for(url_hash);
    std::lock_guard<std::mutex> lock(s.mutex);
    std::size_t marked = 0;
    each_of_url(s, url_hash, url, [&](StoredObject* o) {
        o->mark_stale(at);
        ++marked;
    });
    return marked;
}

std::size_t ObjectStore::mark_stale_if(const std::function<bool(const StoredObject&)>& match,
                                       core::Instant at) {
    std::size_t marked = 0;
    std::vector<ObjectRef> matched;
    for (Shard& s : shards_) {
        matching(s, match, matched);
        if (matched.empty()) {
            continue;
        }
        {
            std::lock_guard<std::mutex> lock(s.mutex);
            for (const ObjectRef& o : matched) {
                if (is_stored(s, o.get())) {
                    o->mark_stale(at);
                    ++marked;
                }
            }
        }
        matched.clear();
    }
    return marked;
}

void ObjectStore::visit(const std::function<void(const StoredObject&)>& visit) const {
    std::vector<ObjectRef> held;
    for (Shard& s : shards_) {
        matching(
            s,
            [&visit](const StoredObject& o) {
                visit(o);
                return false;
            },
            held);
    }
}

std::uint32_t ObjectStore::estimated_frequency(std::uint64_t url_hash, std::uint64_t hash) const {
    const Shard& s = shard_for(url_hash);
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.sketch.frequency(static_cast<std::uint32_t>(hash));
}

StoreStats ObjectStore::stats() const {
    StoreStats st;
    for (const Shard& s : shards_) {
        std::lock_guard<std::mutex> lock(s.mutex);
        st.objects += s.objects;
        st.evictions += s.evictions;
    }
    st.bytes = bytes_.load(std::memory_order_relaxed);
    return st;
}

} // namespace lacquer::cache
