#pragma once
// Whether a key is stored, asked without counting a hit (remove_if visits every object and
// takes none): eviction tests must not move what they look at.

#include "lacquer/cache/object_store.h"
#include "lacquer/cache/stored_object.h"

#include <string>

namespace lacquer::cache {

inline bool stored_quietly(ObjectStore& store, const std::string& key) {
    bool found = false;
    store.remove_if([&](const StoredObject& o) {
        found = found || o.key() == key;
        return false;
    });
    return found;
}

} // namespace lacquer::cache
