#pragma once
// Warm restart: the store written to a file and read back (storage.snapshot). The file is a
// header (magic, format version, format id, the build that wrote it, the wall time of the write)
// then blocks of object records, each block with its own XXH3 checksum, then an end block that
// counts them all. Objects keep their absolute times: a record holds the object's age when it
// was written, and the reader adds the wall time that passed since (rounded up, so an object
// never comes back younger than it is). Nothing of a file is used unless all of it checks out:
// a truncated, corrupt, empty, foreign or future-version file is one error line and a cold
// start, never a partial or wrong object. The reader puts objects back through
// ObjectStore::restore, in the eviction queue they were in with their hits (the hot set stays
// hot across a restart), and storage.memory and eviction apply as to any object.
// Threads: write_snapshot() may run beside the workers (store.visit() holds each shard's lock
// only to take references); read_snapshot() runs before the workers start, or beside them.

#include "lacquer/cache/object_store.h"
#include "lacquer/core/clock.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lacquer::cache {

// What the route that keys `canonical_key` puts into its keys, as a number (proxy/
// route_fingerprint.h): written with each object, compared with the loaded config's on read.
// 0: no caching route keys it (the object is dropped).
using KeyPolicyFingerprint = std::function<std::uint64_t(std::string_view canonical_key)>;

// Version 3 keeps each object's eviction queue (W-TinyLFU's segments too), hits and sketch
// frequency; version 2 (queue and hits) and version 1 files are still read (version 1's
// objects come back on probation).
inline constexpr std::uint32_t kSnapshotFormatVersion = 3;

struct SnapshotWrite {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0; // the file's size
    std::string error;       // empty: written and renamed into place
};

// Writes every object of `store` to `path` through a temporary file in the same directory,
// fsynced then renamed into place (the previous snapshot stays whole until then). `build` names
// the writer in the header (its version). Never throws for I/O: errors come back in `error`.
SnapshotWrite write_snapshot(const ObjectStore& store, const std::string& path,
                             const core::Clock& clock, const KeyPolicyFingerprint& fingerprint,
                             std::string_view build);

struct SnapshotLoad {
    std::uint64_t loaded = 0;         // inserted into the store
    std::uint64_t expired = 0;        // past their hard bound (or stale windows) by now
    std::uint64_t policy_changed = 0; // their route's key policy differs from the config's
    std::uint64_t over_budget = 0;    // beyond storage.memory (the first ones are kept)
    std::uint64_t newer_stored = 0;   // their key was stored from the origin meanwhile
    std::uint64_t bytes = 0;          // charge of the loaded objects
    std::uint64_t file_bytes = 0;
    std::string build; // what wrote the file
    // Empty: the file was read whole. Otherwise why it was ignored (nothing was inserted);
    // `missing` when there was no file at all (a first start: not worth a warning).
    std::string error;
    bool missing = false;
};

// A source of snapshot bytes: a file, or memory (tests, the fuzzer).
class SnapshotSource {
public:
    virtual ~SnapshotSource() = default;
    // Up to `size` bytes into `out`; 0 at the end; -1 on a read error.
    virtual long read(char* out, std::size_t size) = 0;
};

struct SnapshotReadOptions {
    // The fuzzer turns this off to reach the record parser, which must stand on its own.
    bool verify_checksums = true;
};

// Reads a snapshot from `source` into `store` (nothing unless the whole file is sound).
SnapshotLoad read_snapshot(SnapshotSource& source, ObjectStore& store, const core::Clock& clock,
                           const KeyPolicyFingerprint& fingerprint,
                           const SnapshotReadOptions& options = {});
// Same from a file (`missing` when it does not exist).
SnapshotLoad read_snapshot_file(const std::string& path, ObjectStore& store,
                                const core::Clock& clock, const KeyPolicyFingerprint& fingerprint);

} // namespace lacquer::cache
