#include "lacquer/cache/stored_object.h"

#include "lacquer/cache/object_store.h"
#include "lacquer/core/assert.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace lacquer::cache {

StoredObject* StoredObject::create(const Fields& f) {
    const std::size_t etag = std::min<std::size_t>(f.etag.size(), 1024);
    const std::size_t lm = std::min<std::size_t>(f.last_modified.size(), 128);
    const std::size_t body_offset = f.key.size() + f.head.size() + etag + lm;
    const std::size_t total = sizeof(StoredObject) + body_offset + f.body_size;
    void* memory = std::malloc(total);
    if (memory == nullptr) {
        throw std::bad_alloc();
    }
    auto* o = new (memory) StoredObject();
    char* p = o->bytes();
    std::memcpy(p, f.key.data(), f.key.size());
    std::memcpy(p + f.key.size(), f.head.data(), f.head.size());
    std::memcpy(p + f.key.size() + f.head.size(), f.etag.data(), etag);
    std::memcpy(p + f.key.size() + f.head.size() + etag, f.last_modified.data(), lm);
    o->key_size_ = static_cast<std::uint32_t>(f.key.size());
    o->head_size_ = static_cast<std::uint32_t>(f.head.size());
    o->etag_size_ = static_cast<std::uint16_t>(etag);
    o->lm_size_ = static_cast<std::uint16_t>(lm);
    o->body_offset_ = static_cast<std::uint32_t>(body_offset);
    o->body_size_ = f.body_size;
    o->charge_ = total + ObjectStore::kOverheadPerObject;
    o->hash_ = f.hash;
    o->status_ = f.status;
    o->stored_at_ = f.stored_at;
    o->stored_unix_ = f.stored_unix;
    o->initial_age_ = f.initial_age;
    o->window_ = f.window;
    return o;
}

void StoredObject::unref() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        auto* self = const_cast<StoredObject*>(this);
        self->~StoredObject();
        std::free(self);
    }
}

} // namespace lacquer::cache
