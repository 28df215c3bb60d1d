#pragma once
// The byte layout of a snapshot file (cache/snapshot.h), shared by its writer and its reader.
// Little-endian fixed-width integers, no padding:
//   header  "LACQSNAP" u32 version u32 header_bytes u64 format_id i64 written_unix
//           u16 build_size, build bytes, u64 XXH3 of all the header before it
//   block   u32 kind u32 count u64 payload_bytes u64 payload_xxh3 u64 XXH3 of those 24 bytes,
//           then the payload: `count` records (kind Objects), `count` ghosts (kind Ghosts,
//           version 2), nothing (kind End: `count` is the file's object total and payload_xxh3
//           the sum of the other blocks' payload bytes)
//   record  Record (kRecordBytes) then key, head, etag, last_modified, vary, tags, body
// The hashes are not stored: the reader computes them from the key, as build_key() does.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace lacquer::cache::snapshot_format {

static_assert(std::endian::native == std::endian::little, "the format is little-endian");

inline constexpr std::string_view kMagic = "LACQSNAP";
// Changes with anything a reader of this version could misread; a file of another id with the
// same version (a build that changed the layout without saying so) is refused too.
inline constexpr std::string_view kFormatText =
    "lacquer snapshot v3: records of 84 bytes then key/head/etag/lm/vary/tags/body; windows in "
    "ms; ages in ms at the write; hashes XXH3-64 of the canonical key and of its first 4 lines; "
    "byte 7 the eviction queue (0x80 main, 0x40 protected segment), the sketch frequency "
    "(bits 2-5) and hits (low bits, <= 3); ghost blocks (kind 3) of u32 shard u32 hash before "
    "the end block";
// Version 2 (the same layout, byte 7 only 0x80 and the hits) and version 1 (byte 7 always 0)
// are still read: version 2's objects come back in their queue with their hits, version 1's
// on probation, as those versions' readers put them.
inline constexpr std::uint32_t kFormatVersion2 = 2;
inline constexpr std::string_view kFormatTextV2 =
    "lacquer snapshot v2: records of 84 bytes then key/head/etag/lm/vary/tags/body; windows in "
    "ms; ages in ms at the write; hashes XXH3-64 of the canonical key and of its first 4 lines; "
    "byte 7 the eviction queue (0x80 main) and hits (low bits, <= 3); ghost blocks (kind 3) of "
    "u32 shard u32 hash before the end block";
inline constexpr std::uint32_t kFormatVersion1 = 1;
inline constexpr std::string_view kFormatTextV1 =
    "lacquer snapshot v1: records of 84 bytes then key/head/etag/lm/vary/tags/body; windows in "
    "ms; ages in ms at the write; hashes XXH3-64 of the canonical key and of its first 4 lines";
inline constexpr std::size_t kMaxBuildSize = 256;
inline constexpr std::size_t kBlockHeaderBytes = 32;
inline constexpr std::size_t kRecordBytes = 84;
// A writer closes a block past this many payload bytes (a larger object gets a block alone).
inline constexpr std::size_t kBlockTarget = 1 << 20;

// Ghosts (version 2): `count` pairs u32 shard, u32 hash of S3-FIFO's ghost list, before End.
enum class BlockKind : std::uint32_t { Objects = 1, End = 2, Ghosts = 3 };
inline constexpr std::size_t kGhostBytes = 8;

// Record::flags bits.
inline constexpr std::uint8_t kMustRevalidate = 1;
inline constexpr std::uint8_t kWithAuthorization = 2;

// Record::queue (version 2 on): where the object was in the store's eviction order, so a
// restart brings the hot set back in S3-FIFO's main queue or W-TinyLFU's main segments, not on
// probation where the first scan after the restart would push it out. Version 3 adds
// W-TinyLFU's protected segment (with kQueueMain: probation is kQueueMain alone, the window
// nothing) and the object's frequency in the sketch (0..15), so the admission filter still
// knows the hot set; a store of another policy reads what it has (ObjectStore::restore).
inline constexpr std::uint8_t kQueueMain = 0x80;
inline constexpr std::uint8_t kQueueProtected = 0x40;
inline constexpr std::uint8_t kQueueFrequencyBits = 0x3c;
inline constexpr unsigned kQueueFrequencyShift = 2;
inline constexpr std::uint8_t kQueueHitBits = 0x03;
inline constexpr std::uint8_t kQueueMaxHits = 3;
inline constexpr bool queue_plausible(std::uint8_t queue, std::uint32_t version) {
    if (version == kFormatVersion1) {
        return queue == 0;
    }
    if (version == kFormatVersion2) {
        return (queue & ~(kQueueMain | kQueueHitBits)) == 0;
    }
    return (queue & kQueueProtected) == 0 || (queue & kQueueMain) != 0;
}

struct Record {
    std::uint32_t record_bytes = 0; // this struct, the strings and the body
    std::uint16_t status = 0;
    std::uint8_t flags = 0;
    std::uint8_t queue = 0;        // kQueue* bits | hits; 0 in version 1
    std::uint64_t fingerprint = 0; // KeyPolicyFingerprint of the key when written
    std::int64_t age_ms = 0;       // at the write, >= 0
    std::int64_t ttl_ms = 0;
    std::int32_t stale_ms = 0;
    std::int32_t stale_if_error_ms = 0;
    std::int64_t stale_since_ms = -1; // time since its soft purge (mark_stale); -1: none
    std::uint32_t initial_age = 0;
    std::uint32_t date = 0;
    std::uint32_t key_size = 0;
    std::uint32_t head_size = 0;
    std::uint32_t etag_size = 0;
    std::uint32_t lm_size = 0;
    std::uint32_t vary_size = 0;
    std::uint32_t tags_size = 0;
    std::uint32_t body_size = 0;
};

// Field by field, so the layout never depends on the compiler's padding.
template <class T> inline char* put(char* at, T value) {
    std::memcpy(at, &value, sizeof value);
    return at + sizeof value;
}
template <class T> inline const char* get(const char* at, T& value) {
    std::memcpy(&value, at, sizeof value);
    return at + sizeof value;
}

inline void encode(const Record& r, char* out) {
    char* p = put(out, r.record_bytes);
    p = put(p, r.status);
    p = put(p, r.flags);
    p = put(p, r.queue);
    p = put(p, r.fingerprint);
    p = put(p, r.age_ms);
    p = put(p, r.ttl_ms);
    p = put(p, r.stale_ms);
    p = put(p, r.stale_if_error_ms);
    p = put(p, r.stale_since_ms);
    for (const std::uint32_t v : {r.initial_age, r.date, r.key_size, r.head_size, r.etag_size,
                                  r.lm_size, r.vary_size, r.tags_size, r.body_size}) {
        p = put(p, v);
    }
}

inline void decode(const char* in, Record& r) {
    const char* p = get(in, r.record_bytes);
    p = get(p, r.status);
    p = get(p, r.flags);
    p = get(p, r.queue);
    p = get(p, r.fingerprint);
    p = get(p, r.age_ms);
    p = get(p, r.ttl_ms);
    p = get(p, r.stale_ms);
    p = get(p, r.stale_if_error_ms);
    p = get(p, r.stale_since_ms);
    for (std::uint32_t* v : {&r.initial_age, &r.date, &r.key_size, &r.head_size, &r.etag_size,
                             &r.lm_size, &r.vary_size, &r.tags_size, &r.body_size}) {
        p = get(p, *v);
    }
}

// The URL part of a canonical key (BuiltKey::url): its first four lines; empty when it has
// fewer.
inline std::string_view url_of_key(std::string_view key) {
    std::size_t at = 0;
    for (int line = 0; line < 4; ++line) {
        const std::size_t nl = key.find('\n', at);
        if (nl == std::string_view::npos) {
            return {};
        }
        at = nl + 1;
    }
    return key.substr(0, at);
}

} // namespace lacquer::cache::snapshot_format
