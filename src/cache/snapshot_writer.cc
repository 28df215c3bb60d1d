// write_snapshot(): the store's objects into blocks of records (snapshot_format.h), written to
// "<path>.tmp" beside the target, fsynced, renamed over the target, the directory fsynced. The
// store is visited shard by shard (references taken under the shard's lock, written without
// it), so a write beside running workers only ever holds a lock to copy pointers.
#include "lacquer/cache/snapshot.h"
#include "lacquer/core/errno_text.h"
#include "snapshot_format.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>
#include <xxhash.h>

namespace lacquer::cache {

namespace fmt = snapshot_format;

namespace {

// An fd written whole or not at all (the first error is kept).
class FileOut {
public:
    explicit FileOut(int fd) : fd_(fd) {}
    FileOut(const FileOut&) = delete;
    FileOut& operator=(const FileOut&) = delete;
    ~FileOut() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    void write(std::string_view bytes) {
        while (error_.empty() && !bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                error_ = std::string("write: ") + core::errno_text(errno);
                return;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
            written_ += static_cast<std::uint64_t>(n);
        }
    }
    // fsync then close: the bytes are on disk before the rename makes them the snapshot.
    void sync_and_close() {
        if (error_.empty() && ::fsync(fd_) != 0) {
            error_ = std::string("fsync: ") + core::errno_text(errno);
        }
        if (::close(fd_) != 0 && error_.empty()) {
            error_ = std::string("close: ") + core::errno_text(errno);
        }
        fd_ = -1;
    }
    const std::string& error() const { return error_; }
    std::uint64_t written() const { return written_; }

private:
    int fd_;
    std::string error_;
    std::uint64_t written_ = 0;
};

void put_block_header(std::string& out, fmt::BlockKind kind, std::uint32_t count,
                      std::uint64_t payload_bytes, std::uint64_t payload_hash) {
    char header[fmt::kBlockHeaderBytes];
    char* p = fmt::put(header, static_cast<std::uint32_t>(kind));
    p = fmt::put(p, count);
    p = fmt::put(p, payload_bytes);
    p = fmt::put(p, payload_hash);
    fmt::put(p, static_cast<std::uint64_t>(XXH3_64bits(header, 24)));
    out.append(header, sizeof header);
}

std::string file_header(std::int64_t written_unix, std::string_view build) {
    build = build.substr(0, fmt::kMaxBuildSize);
    const std::size_t size = 8 + 4 + 4 + 8 + 8 + 2 + build.size() + 8;
    std::string out(size, '\0');
    char* p = out.data();
    std::memcpy(p, fmt::kMagic.data(), fmt::kMagic.size());
    p += fmt::kMagic.size();
    p = fmt::put(p, kSnapshotFormatVersion);
    p = fmt::put(p, static_cast<std::uint32_t>(size));
    p = fmt::put(p, static_cast<std::uint64_t>(
                        XXH3_64bits(fmt::kFormatText.data(), fmt::kFormatText.size())));
    p = fmt::put(p, written_unix);
    p = fmt::put(p, static_cast<std::uint16_t>(build.size()));
    std::memcpy(p, build.data(), build.size());
    p += build.size();
    fmt::put(p, static_cast<std::uint64_t>(XXH3_64bits(out.data(), size - 8)));
    return out;
}

std::int64_t millis(core::Duration d) {
    return std::chrono::duration_cast<core::Millis>(d).count();
}

// Appends the record of `o` to `payload`; false when the object cannot be read back as it is
// (a key that build_key() could not have made, whose hashes the reader would not find again).
bool append_record(const StoredObject& o, ObjectStore::QueuePlace place, core::Instant now,
                   std::uint64_t fingerprint, std::string& payload) {
    const std::string_view key = o.key();
    const std::string_view url = fmt::url_of_key(key);
    if (url.empty() || !o.has_hash(XXH3_64bits(key.data(), key.size())) ||
        !o.has_url_hash(XXH3_64bits(url.data(), url.size()))) {
        return false;
    }
    fmt::Record r;
    r.status = static_cast<std::uint16_t>(o.status());
    const FreshnessWindow w = o.window();
    r.flags =
        static_cast<std::uint8_t>((w.must_revalidate ? fmt::kMustRevalidate : 0) |
                                  (w.reusable_with_authorization ? fmt::kWithAuthorization : 0));
    r.queue = static_cast<std::uint8_t>(
        (place.main ? fmt::kQueueMain : 0) |
        (place.main && place.protected_segment ? fmt::kQueueProtected : 0) |
        ((std::min<unsigned>(place.frequency, 15) << fmt::kQueueFrequencyShift) &
         fmt::kQueueFrequencyBits) |
        std::min(place.hits, fmt::kQueueMaxHits));
    r.fingerprint = fingerprint;
    const std::int64_t age = std::max<std::int64_t>(0, millis(now - o.stored_at()));
    r.age_ms = age;
    r.ttl_ms = w.ttl.count();
    r.stale_ms = static_cast<std::int32_t>(w.stale.count());
    r.stale_if_error_ms = static_cast<std::int32_t>(w.stale_if_error.count());
    // A soft purge shows in age_at() as an age past ttl + the time since the mark: keep that
    // time, so the reader marks the object again as long ago.
    const std::int64_t effective = o.age_at(now).count();
    r.stale_since_ms = effective > age ? effective - r.ttl_ms : -1;
    r.initial_age = static_cast<std::uint32_t>(o.initial_age());
    r.date = o.date();
    r.key_size = static_cast<std::uint32_t>(key.size());
    r.head_size = static_cast<std::uint32_t>(o.head().size());
    r.etag_size = static_cast<std::uint32_t>(o.etag().size());
    r.lm_size = static_cast<std::uint32_t>(o.last_modified().size());
    r.vary_size = static_cast<std::uint32_t>(o.vary().size());
    r.tags_size = static_cast<std::uint32_t>(o.tags().size());
    r.body_size = static_cast<std::uint32_t>(o.body_size());
    const std::size_t total = fmt::kRecordBytes + key.size() + o.head().size() + o.etag().size() +
                              o.last_modified().size() + o.vary().size() + o.tags().size() +
                              o.body_size();
    r.record_bytes = static_cast<std::uint32_t>(std::min<std::size_t>(total, 0xffffffff));
    if (total != r.record_bytes) {
        return false; // the widths of StoredObject make this impossible; never write a lie
    }
    const std::size_t at = payload.size();
    payload.resize(at + fmt::kRecordBytes);
    fmt::encode(r, payload.data() + at);
    for (const std::string_view part :
         {key, o.head(), o.etag(), o.last_modified(), o.vary(), o.tags()}) {
        payload.append(part);
    }
    payload.append(o.body(), o.body_size());
    return true;
}

} // namespace

SnapshotWrite write_snapshot(const ObjectStore& store, const std::string& path,
                             const core::Clock& clock, const KeyPolicyFingerprint& fingerprint,
                             std::string_view build) {
    SnapshotWrite result;
    const std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        result.error = "cannot create " + temp + ": " + core::errno_text(errno);
        return result;
    }
    FileOut out(fd);
    // One instant for every object: ages are relative to it, and the reader adds the wall time
    // since `unix`. An object stored during the write gets age 0 (older than it is: safe).
    const core::Instant now = clock.now();
    const std::int64_t unix = clock.unix_seconds();
    out.write(file_header(unix, build));
    std::string block;   // header then payload
    std::string payload; // records of the block being filled
    std::uint32_t count = 0;
    std::uint64_t payload_total = 0;
    payload.reserve(fmt::kBlockTarget + fmt::kBlockTarget / 4);
    const auto flush = [&] {
        if (count == 0) {
            return;
        }
        block.clear();
        put_block_header(block, fmt::BlockKind::Objects, count, payload.size(),
                         XXH3_64bits(payload.data(), payload.size()));
        out.write(block);
        out.write(payload);
        payload_total += payload.size();
        payload.clear();
        count = 0;
    };
    store.visit([&](const StoredObject& o) {
        if (!out.error().empty()) {
            return;
        }
        if (append_record(o, store.queue_place(o), now, fingerprint ? fingerprint(o.key()) : 0,
                          payload)) {
            ++count;
            ++result.objects;
        }
        if (payload.size() >= fmt::kBlockTarget) {
            flush();
        }
    });
    flush();
    // S3-FIFO's ghost list: what was dropped from probation lately goes straight to the main
    // queue when asked again after the restart too.
    const std::vector<ObjectStore::Ghost> ghosts = store.ghosts();
    if (!ghosts.empty()) {
        payload.clear();
        for (const ObjectStore::Ghost& g : ghosts) {
            char pair[fmt::kGhostBytes];
            fmt::put(fmt::put(pair, g.shard), g.hash);
            payload.append(pair, sizeof pair);
        }
        block.clear();
        put_block_header(block, fmt::BlockKind::Ghosts, static_cast<std::uint32_t>(ghosts.size()),
                         payload.size(), XXH3_64bits(payload.data(), payload.size()));
        out.write(block);
        out.write(payload);
        payload_total += payload.size();
    }
    block.clear();
    put_block_header(block, fmt::BlockKind::End, static_cast<std::uint32_t>(result.objects), 0,
                     payload_total);
    out.write(block);
    out.sync_and_close();
    result.bytes = out.written();
    if (out.error().empty() && result.objects > 0xffffffff) {
        result.error = "too many objects for the snapshot format";
    } else if (!out.error().empty()) {
        result.error = temp + ": " + out.error();
    } else if (::rename(temp.c_str(), path.c_str()) != 0) {
        result.error = "cannot rename " + temp + " to " + path + ": " + core::errno_text(errno);
    }
    if (!result.error.empty()) {
        ::unlink(temp.c_str());
        return result;
    }
    // The rename itself is durable only once the directory is synced.
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string(".")
                            : slash == 0               ? std::string("/")
                                                       : path.substr(0, slash);
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        (void)::fsync(dir_fd);
        ::close(dir_fd);
    }
    return result;
}

} // namespace lacquer::cache
