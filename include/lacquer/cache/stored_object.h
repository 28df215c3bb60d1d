#pragma once
// A stored response: immutable once published, shared by every worker, reference-counted
// (atomic). Key, head and body live in the same allocation as this header, so an object costs
// one malloc and its bytes can be handed to the network by reference.
// The head is http::write_stored_lines(): the response as the client gets it minus what
// delivery adds: the status line when its reason phrase is the standard one, lacquer's own Via,
// the per-request lines (Age, Cache-Status, Connection) and the framing (Content-Length). An
// IMF-fixdate Date line is kept as its 4-byte time (date()) and written back at delivery.

#include "lacquer/cache/freshness.h"
#include "lacquer/cache/ref.h"
#include "lacquer/core/clock.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lacquer::cache {

// How the store finds objects: the full key and its hash, and the hash of the key's URL part
// (BuiltKey::url_hash), which places every variant of one URL in the same shard. An object
// keeps the low 32 bits of each hash (hash(), url_hash()); the store uses no other bits.
struct StoreKey {
    std::uint64_t hash = 0;
    std::uint64_t url_hash = 0;
    std::string_view key;
};

class StoredObject {
public:
    // The widths an object keeps; create() requires fields within them (ObjectBuilder does not
    // store an answer beyond them).
    static constexpr std::size_t kMaxKeySize = 0xffff;
    static constexpr std::size_t kMaxVarySize = 0xffff;
    static constexpr std::size_t kMaxTagsSize = 0xffff;
    static constexpr std::uint64_t kMaxBodySize = 0xffffffff;
    // Longer stale windows are kept as this long (24.8 days).
    static constexpr std::int64_t kMaxWindowMs = 0x7fffffff;

    struct Fields {
        std::string_view key;
        std::uint64_t hash = 0;
        std::uint64_t url_hash = 0;
        // write_stored_lines(): optional status line + end-to-end headers, lines end in CRLF.
        std::string_view head;
        // The Date to keep when `head` has no IMF-fixdate Date line (a renewed object keeps its
        // old one); unix seconds, 0: none.
        std::uint32_t date = 0;
        std::size_t body_size = 0;
        int status = 200;
        core::Instant stored_at{};
        std::int64_t initial_age = 0; // the origin's Age when it was stored, seconds, < 2^32
        FreshnessWindow window;
        std::string_view etag;          // copied into the object
        std::string_view last_modified; // copied into the object
        std::string_view vary;          // secondary key (vary.h); copied into the object
        std::string_view tags;          // the route's tags header value (purge by tag)
    };

    // Allocates an object with room for the body (filled through body_for_fill() before the
    // object is published). Reference count 1, owned by the caller.
    static StoredObject* create(const Fields& fields);

    void ref() const { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() const;

    std::string_view key() const { return {bytes(), key_size_}; }
    std::uint64_t hash() const { return hash_; } // its low 32 bits
    bool has_hash(std::uint64_t hash) const { return hash_ == static_cast<std::uint32_t>(hash); }
    std::string_view head() const { return {bytes() + key_size_, head_size_}; }
    std::string_view etag() const { return {bytes() + key_size_ + head_size_, etag_size_}; }
    std::string_view last_modified() const {
        return {bytes() + key_size_ + head_size_ + etag_size_, lm_size_};
    }
    std::string_view vary() const {
        return {bytes() + key_size_ + head_size_ + etag_size_ + lm_size_, vary_size_};
    }
    std::string_view tags() const {
        return {bytes() + key_size_ + head_size_ + etag_size_ + lm_size_ + vary_size_, tags_size_};
    }
    // True when the tags (separated by spaces or commas) include `tag`.
    bool has_tag(std::string_view tag) const;
    std::uint64_t url_hash() const { return url_hash_; } // its low 32 bits
    bool has_url_hash(std::uint64_t hash) const {
        return url_hash_ == static_cast<std::uint32_t>(hash);
    }
    // The response's Date, unix seconds, when it was an IMF-fixdate line (then not in head());
    // 0: none kept this way.
    std::uint32_t date() const { return date_; }
    StoreKey store_key() const { return {hash_, url_hash_, key()}; }
    const char* body() const { return bytes() + body_offset(); }
    std::size_t body_size() const { return static_cast<std::size_t>(body_size_); }
    char* body_for_fill() { return bytes() + body_offset(); }

    int status() const { return status_ & kStatusBits; }
    core::Instant stored_at() const { return stored_at_; }
    std::int64_t initial_age() const { return initial_age_; }
    FreshnessWindow window() const {
        return {ttl_, core::Millis(stale_ms_), core::Millis(stale_if_error_ms_),
                (status_ & kMustRevalidate) != 0, (status_ & kWithAuthorization) != 0};
    }
    // Soft purge: from `at` the object counts as expired (served inside `stale` while one
    // request refreshes it, never past its hard bound). The earliest mark wins.
    void mark_stale(core::Instant at) const;
    // The age that freshness decisions use: time since it was stored, or, once marked stale,
    // at least ttl + time since the mark.
    core::Millis age_at(core::Instant now) const;
    // Bytes this object costs against the budget, bookkeeping included.
    std::size_t charge() const;

    // Index and eviction bookkeeping, owned by the store shard (its lock).
    StoredObject* lru_prev = nullptr;
    StoredObject* lru_next = nullptr;
    StoredObject* hash_next = nullptr; // the next object of its chain by hash (ObjectTable)
    StoredObject* url_next = nullptr;  // the next object of its chain by URL hash

private:
    StoredObject() = default;
    ~StoredObject() = default;
    const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
    char* bytes() { return reinterpret_cast<char*>(this + 1); }
    std::size_t body_offset() const {
        return std::size_t{key_size_} + head_size_ + etag_size_ + lm_size_ + vary_size_ +
               tags_size_;
    }

    static constexpr std::uint16_t kStatusBits = 0x3ff;         // 0..999
    static constexpr std::uint16_t kMustRevalidate = 0x8000;    // in status_
    static constexpr std::uint16_t kWithAuthorization = 0x4000; // in status_ (RFC 9111 §3.5)

    // Every stored object carries these (104 bytes with the links above and `eviction_`),
    // widest first, no padding, nothing that can be derived (the body's offset, the charge).
    // mark_stale()'s instant, in ms of the steady clock + 1; 0: not marked.
    mutable std::atomic<std::int64_t> stale_mark_{0};
    core::Instant stored_at_{};
    core::Millis ttl_{0};
    std::uint32_t hash_ = 0;
    std::uint32_t url_hash_ = 0;
    std::uint32_t body_size_ = 0;
    std::int32_t stale_ms_ = 0;          // clamped to kMaxWindowMs
    std::int32_t stale_if_error_ms_ = 0; // clamped to kMaxWindowMs
    mutable std::atomic<std::uint32_t> refs_{1};
    std::uint32_t head_size_ = 0;
    std::uint32_t initial_age_ = 0;
    std::uint32_t date_ = 0;
    std::uint16_t key_size_ = 0;
    std::uint16_t vary_size_ = 0;
    std::uint16_t tags_size_ = 0;
    std::uint16_t etag_size_ = 0;
    std::uint16_t status_ = 0; // kStatusBits, | kMustRevalidate | kWithAuthorization
    std::uint8_t lm_size_ = 0;

public:
    // Eviction state (object_store.h). The low bits count hits since the object entered its
    // queue, saturating at kMaxHits: a hit writes nothing once there, so a hot object's cache
    // line stays shared between the workers. kInMain: the object is in the S3-FIFO main queue
    // (written under the shard lock); kProtected: with W-TinyLFU, in the main queue's protected
    // segment (kInMain without it: probation). A hit and the shard's eviction change it with atomic
    // read-modify-writes, so neither loses the other's change; the count has room above
    // kMaxHits for hits that race past the check.
    static constexpr std::uint8_t kHitBits = 0x3f;
    static constexpr std::uint8_t kMaxHits = 3;
    static constexpr std::uint8_t kInMain = 0x80;
    static constexpr std::uint8_t kProtected = 0x40;
    void note_hit() const {
        if ((eviction_.load(std::memory_order_relaxed) & kHitBits) < kMaxHits) {
            eviction_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    std::uint8_t hits() const {
        const std::uint8_t n = eviction_.load(std::memory_order_relaxed) & kHitBits;
        return n < kMaxHits ? n : kMaxHits;
    }
    // Store shard (its lock): the hits forgotten, the queue set.
    void enter_queue(bool main) const {
        eviction_.store(main ? kInMain : 0, std::memory_order_relaxed);
    }
    // Store shard (its lock), W-TinyLFU: the hits forgotten, into the protected segment.
    void enter_protected() const {
        eviction_.store(kInMain | kProtected, std::memory_order_relaxed);
    }
    // Store shard: one hit fewer (a second chance spent); false when there was none.
    bool spend_hit() const {
        std::uint8_t bits = eviction_.load(std::memory_order_relaxed);
        while ((bits & kHitBits) != 0) {
            const std::uint8_t n = (bits & kHitBits) > kMaxHits ? kMaxHits : bits & kHitBits;
            const auto next = static_cast<std::uint8_t>((bits & (kInMain | kProtected)) | (n - 1));
            if (eviction_.compare_exchange_weak(bits, next, std::memory_order_relaxed)) {
                return true;
            }
        }
        return false;
    }
    bool in_main() const { return (eviction_.load(std::memory_order_relaxed) & kInMain) != 0; }
    bool in_protected() const {
        return (eviction_.load(std::memory_order_relaxed) & kProtected) != 0;
    }

private:
    mutable std::atomic<std::uint8_t> eviction_{0};
};

// An owning handle (one reference).
using ObjectRef = Ref<StoredObject>;

} // namespace lacquer::cache
