#include "lacquer/cache/object_store.h"

#include "lacquer/core/assert.h"

namespace lacquer::cache {

ObjectStore::ObjectStore(std::uint64_t budget_bytes) : budget_(budget_bytes) {}

ObjectStore::~ObjectStore() {
    for (Shard& s : shards_) {
        for (auto& [hash, object] : s.table) {
            object->unref();
        }
        s.table.clear();
    }
}

void ObjectStore::link_front(Shard& s, StoredObject* o) {
    o->lru_prev = nullptr;
    o->lru_next = s.head;
    if (s.head != nullptr) {
        s.head->lru_prev = o;
    }
    s.head = o;
    if (s.tail == nullptr) {
        s.tail = o;
    }
}

void ObjectStore::unlink(Shard& s, StoredObject* o) {
    if (o->lru_prev != nullptr) {
        o->lru_prev->lru_next = o->lru_next;
    } else {
        s.head = o->lru_next;
    }
    if (o->lru_next != nullptr) {
        o->lru_next->lru_prev = o->lru_prev;
    } else {
        s.tail = o->lru_prev;
    }
    o->lru_prev = o->lru_next = nullptr;
}

ObjectRef ObjectStore::lookup(std::uint64_t hash, std::string_view key) const {
    Shard& s = shard_for(hash);
    std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.table.find(hash);
    if (it == s.table.end() || it->second->key() != key) {
        return ObjectRef();
    }
    StoredObject* o = it->second;
    if (!o->referenced.load(std::memory_order_relaxed)) {
        o->referenced.store(true, std::memory_order_relaxed); // second chance for the sweep
    }
    o->ref();
    return ObjectRef(o);
}

bool ObjectStore::insert(ObjectRef object) {
    StoredObject* o = object.get();
    if (o == nullptr || o->charge() > budget_) {
        return false;
    }
    const std::size_t index = (o->hash() >> 58) % kShards;
    Shard& s = shards_[index];
    StoredObject* replaced = nullptr;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        auto [it, fresh] = s.table.try_emplace(o->hash(), o);
        if (!fresh) {
            replaced = it->second;
            unlink(s, replaced);
            --s.objects;
            bytes_.fetch_sub(replaced->charge(), std::memory_order_relaxed);
            it->second = o;
        }
        link_front(s, object.release());
        ++s.objects;
        bytes_.fetch_add(o->charge(), std::memory_order_relaxed);
    }
    if (replaced != nullptr) {
        replaced->unref(); // outside the lock: the last reference frees memory
    }
    evict_to_budget();
    return true;
}

bool ObjectStore::remove(std::uint64_t hash, std::string_view key) {
    Shard& s = shard_for(hash);
    StoredObject* victim = nullptr;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        const auto it = s.table.find(hash);
        if (it == s.table.end() || it->second->key() != key) {
            return false;
        }
        victim = it->second;
        s.table.erase(it);
        unlink(s, victim);
        --s.objects;
        bytes_.fetch_sub(victim->charge(), std::memory_order_relaxed);
    }
    victim->unref();
    return true;
}

ObjectStore::Sweep ObjectStore::evict_one(Shard& s, bool force) {
    StoredObject* victim = nullptr;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.tail == nullptr) {
            return Sweep::Empty;
        }
        // Second chance: a referenced object moves to the front once, its flag cleared. Each
        // object is looked at once per call, so the sweep is bounded by the shard's size.
        const std::uint64_t n = s.objects;
        for (std::uint64_t looked = 0; looked < n; ++looked) {
            StoredObject* o = s.tail;
            if (!force && o->referenced.exchange(false, std::memory_order_relaxed)) {
                unlink(s, o);
                link_front(s, o);
                continue;
            }
            victim = o;
            break;
        }
        if (victim == nullptr) {
            return Sweep::SecondChances;
        }
        unlink(s, victim);
        s.table.erase(victim->hash());
        --s.objects;
        ++s.evictions;
        bytes_.fetch_sub(victim->charge(), std::memory_order_relaxed);
    }
    victim->unref();
    return Sweep::Evicted;
}

void ObjectStore::evict_to_budget() {
    // The hand sweeps the shards in turn, so eviction pressure spreads like one global CLOCK.
    // One lock at a time. After two full turns without a victim (everything was just hit),
    // the oldest objects go regardless: the budget is a hard bound.
    std::size_t without_victim = 0;
    std::size_t empty = 0;
    while (bytes_.load(std::memory_order_relaxed) > budget_ && empty < kShards) {
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
