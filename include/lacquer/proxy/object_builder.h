#pragma once
// Collects a response from the origin into a StoredObject while it streams to the client: the
// head as the cache will deliver it, then the body bytes as they pass, into a BodyStream that
// requests waiting for the same key read while it grows. Only a complete body becomes an
// object; an abandoned one leaves nothing behind (its stream fails). Thread: its fill's worker.

#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/freshness.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/head.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lacquer::net {
class Connection;
}

namespace lacquer::proxy {

class ObjectBuilder {
public:
    ObjectBuilder() = default;
    ObjectBuilder(const ObjectBuilder&) = delete;
    ObjectBuilder& operator=(const ObjectBuilder&) = delete;
    ~ObjectBuilder(); // gives its strings' buffers back (core/spare_strings.h)

    // Starts an object for `key` (with `vary` as its secondary key, vary.h) from `response`,
    // fresh for `decision`'s window, aged its initial age, received at `now` (`now_unix`: the
    // Date it gets when the origin sent none, RFC 9110 §6.6.1). Bodies over `max_body` bytes
    // are abandoned (verdict TooLarge). Fields named in `dropped` are not stored.
    void begin(const cache::BuiltKey& key, std::string_view vary, std::string_view tags,
               const http::ResponseHead& response, std::span<const std::string> dropped,
               const cache::StoreDecision& decision, core::Instant now, std::int64_t now_unix,
               std::uint64_t max_body);
    bool active() const { return active_; }
    // The body as it arrives (while active).
    const cache::StreamRef& stream() const { return stream_; }

    // Copies the `n` body bytes at the front of `from`'s input (they stay there).
    void take(const net::Connection& from, std::size_t n);

    // The finished object (reference count 1), or empty when the builder was not active.
    cache::ObjectRef finish();
    void abandon(cache::StoreVerdict why);
    // Stored while active; else why the last object was abandoned.
    cache::StoreVerdict verdict() const { return verdict_; }

private:
    cache::StoredObject::Fields fields(std::size_t body_size) const;

    std::string key_;
    std::string vary_;
    std::string tags_;
    std::string head_;
    cache::StreamRef stream_;
    cache::ObjectRef object_; // with a known length: the object the body is written into
    std::string etag_;
    std::string last_modified_;
    std::uint64_t hash_ = 0;
    std::uint64_t url_hash_ = 0;
    std::uint64_t max_body_ = 0;
    int status_ = 0;
    core::Instant stored_at_{};
    std::int64_t initial_age_ = 0;
    std::uint32_t date_ = 0; // the Date it was given, when the origin sent none
    cache::FreshnessWindow window_;
    bool active_ = false;
    cache::StoreVerdict verdict_ = cache::StoreVerdict::Stored;
};

} // namespace lacquer::proxy
