#pragma once
// An intrusive chained hash table of stored objects, one of a store shard's two indexes: the
// chain links live in the objects (`Link`), the table owns nothing but its bucket array, so
// indexing an object allocates nothing (a node per object cost 32 bytes and scattered small
// chunks between the objects). Power-of-two buckets, at most `MaxLoad` objects per bucket on
// average: 1 for an index that every lookup walks, more for one only purge and insert walk
// (each bucket costs 8 bytes).
// A chain runs newest first, and a rehash keeps that order. Not thread-safe: the shard's lock
// guards it.

#include "lacquer/cache/stored_object.h"
#include "lacquer/core/assert.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lacquer::cache {

template <StoredObject* StoredObject::*Link, std::uint64_t (StoredObject::*Hash)() const,
          std::size_t MaxLoad = 1>
class ObjectTable {
public:
    // The newest object of the chain that `hash` falls in (other hashes share chains: compare
    // them); follow `Link` for the rest.
    StoredObject* chain(std::uint64_t hash) const {
        return buckets_.empty() ? nullptr : buckets_[hash & (buckets_.size() - 1)];
    }

    void insert_front(StoredObject* o) {
        if (size_ >= MaxLoad * buckets_.size()) {
            grow();
        }
        StoredObject*& head = buckets_[(o->*Hash)() & (buckets_.size() - 1)];
        o->*Link = head;
        head = o;
        ++size_;
    }

    // `o` must be in the table.
    void erase(StoredObject* o) {
        StoredObject** at = &buckets_[(o->*Hash)() & (buckets_.size() - 1)];
        while (*at != o) {
            LACQUER_ASSERT(*at != nullptr);
            at = &((*at)->*Link);
        }
        *at = o->*Link;
        o->*Link = nullptr;
        --size_;
    }

    std::size_t size() const { return size_; }

private:
    static constexpr std::size_t kFirstBuckets = 16;

    // Doubles the buckets: each chain splits in two, both keeping the chain's order.
    void grow() {
        const std::size_t old_size = buckets_.size();
        const std::size_t new_size = old_size == 0 ? kFirstBuckets : 2 * old_size;
        buckets_.resize(new_size, nullptr);
        for (std::size_t i = 0; i < old_size; ++i) {
            StoredObject* o = buckets_[i];
            StoredObject** tails[2] = {&buckets_[i], &buckets_[i + old_size]};
            *tails[0] = *tails[1] = nullptr;
            while (o != nullptr) {
                StoredObject* next = o->*Link;
                const std::size_t half = ((o->*Hash)() & old_size) != 0 ? 1 : 0;
                *tails[half] = o;
                tails[half] = &(o->*Link);
                o = next;
            }
            *tails[0] = *tails[1] = nullptr;
        }
    }

    std::vector<StoredObject*> buckets_;
    std::size_t size_ = 0;
};

} // namespace lacquer::cache
