// read_snapshot(): checks a whole snapshot (header, every block's checksum, every record's
// fields, the end block's totals, nothing after it) while it builds the objects aside; only a
// file that checks out to its last byte reaches the store. Objects past their hard bound by
// now, of a route whose key policy changed, or beyond storage.memory are not built at all, so
// staging costs no more than the store would.
#include "lacquer/cache/snapshot.h"
#include "lacquer/core/errno_text.h"
#include "snapshot_format.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>
#include <xxhash.h>

namespace lacquer::cache {

namespace fmt = snapshot_format;

namespace {

// Ages and windows beyond these are not from a real object (a year of ttl is already odd);
// they keep the arithmetic below far from overflow.
constexpr std::int64_t kMaxMillis = std::int64_t{1} << 45; // about 1100 years
constexpr std::size_t kReadChunk = 1 << 20;

class FileSource final : public SnapshotSource {
public:
    explicit FileSource(int fd) : fd_(fd) {}
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;
    ~FileSource() override { ::close(fd_); }
    long read(char* out, std::size_t size) override {
        for (;;) {
            const ssize_t n = ::read(fd_, out, size);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return static_cast<long>(n);
        }
    }

private:
    int fd_;
};

// Reads exactly what is asked, or says why not. `offset` counts the bytes read so far.
class Input {
public:
    explicit Input(SnapshotSource& source) : source_(source) {}
    // Appends `size` bytes to `out`, growing it as bytes arrive (a size field can never make
    // it allocate more than the input holds); false at the end or on an error.
    bool read(std::string& out, std::size_t size) {
        while (size > 0) {
            const std::size_t step = std::min(size, kReadChunk);
            const std::size_t at = out.size();
            out.resize(at + step);
            std::size_t got = 0;
            while (got < step) {
                const long n = source_.read(out.data() + at + got, step - got);
                if (n <= 0) {
                    failed_ = n < 0;
                    out.resize(at + got);
                    offset_ += got;
                    return false;
                }
                got += static_cast<std::size_t>(n);
            }
            offset_ += step;
            size -= step;
        }
        return true;
    }
    // Reads exactly `size` bytes into `out` (memory the caller sized); false at the end or on
    // an error.
    bool read_into(char* out, std::size_t size) {
        while (size > 0) {
            const long n = source_.read(out, size);
            if (n <= 0) {
                failed_ = n < 0;
                return false;
            }
            out += n;
            size -= static_cast<std::size_t>(n);
            offset_ += static_cast<std::uint64_t>(n);
        }
        return true;
    }
    bool at_end() {
        char c = 0;
        const long n = source_.read(&c, 1);
        failed_ = n < 0;
        return n == 0;
    }
    std::uint64_t offset() const { return offset_; }
    bool failed() const { return failed_; }

private:
    SnapshotSource& source_;
    std::uint64_t offset_ = 0;
    bool failed_ = false;
};

std::uint64_t xxh3(std::string_view bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

// The fields of a record as StoredObject can hold them; false when they are not.
bool plausible(const fmt::Record& r, std::uint32_t version) {
    return fmt::queue_plausible(r.queue, version) && r.status <= 999 && r.flags <= 3 &&
           r.age_ms >= 0 && r.age_ms < kMaxMillis && r.ttl_ms >= 0 && r.ttl_ms < kMaxMillis &&
           r.stale_ms >= 0 && r.stale_ms <= StoredObject::kMaxWindowMs &&
           r.stale_if_error_ms >= 0 && r.stale_if_error_ms <= StoredObject::kMaxWindowMs &&
           r.stale_since_ms >= -1 && r.stale_since_ms < kMaxMillis && r.key_size > 0 &&
           r.key_size <= StoredObject::kMaxKeySize && r.etag_size <= 1024 && r.lm_size <= 128 &&
           r.vary_size <= StoredObject::kMaxVarySize && r.tags_size <= StoredObject::kMaxTagsSize;
}

class Reader {
public:
    Reader(SnapshotSource& source, ObjectStore& store, const core::Clock& clock,
           const KeyPolicyFingerprint& fingerprint, const SnapshotReadOptions& options)
        : in_(source), store_(store), now_(clock.now()), now_unix_(clock.unix_seconds()),
          fingerprint_(fingerprint), options_(options) {}

    SnapshotLoad run() {
        if (read_header() && read_blocks()) {
            publish();
        } else {
            staged_.clear();
            places_.clear();
            const std::string build = std::move(result_.build);
            result_ = SnapshotLoad{};
            result_.build = build;
            result_.error = error_;
        }
        result_.file_bytes = in_.offset();
        return result_;
    }

private:
    bool fail(const std::string& what) {
        error_ = what;
        return false;
    }
    bool truncated(const char* where) {
        if (in_.failed()) {
            return fail(std::string("read error at byte ") + std::to_string(in_.offset()) + ": " +
                        core::errno_text(errno));
        }
        return fail(std::string("truncated at byte ") + std::to_string(in_.offset()) + " (" +
                    where + ")");
    }

    bool read_header() {
        std::string h;
        if (!in_.read(h, 8 + 4 + 4)) {
            if (h.empty()) {
                return fail("empty file");
            }
            return h.size() < 8 || h.compare(0, 8, fmt::kMagic) != 0
                       ? fail("not a lacquer snapshot (bad magic)")
                       : truncated("header");
        }
        if (h.compare(0, 8, fmt::kMagic) != 0) {
            return fail("not a lacquer snapshot (bad magic)");
        }
        std::uint32_t version = 0;
        std::uint32_t size = 0;
        fmt::get(fmt::get(h.data() + 8, version), size);
        if (version > kSnapshotFormatVersion) {
            return fail("format version " + std::to_string(version) +
                        " is newer than this build reads (" +
                        std::to_string(kSnapshotFormatVersion) + ")");
        }
        if (version != kSnapshotFormatVersion && version != fmt::kFormatVersion2 &&
            version != fmt::kFormatVersion1) {
            return fail("unknown format version " + std::to_string(version));
        }
        version_ = version;
        constexpr std::size_t kFixed = 8 + 4 + 4 + 8 + 8 + 2 + 8;
        if (size < kFixed || size > kFixed + fmt::kMaxBuildSize) {
            return fail("corrupt header (size " + std::to_string(size) + ")");
        }
        if (!in_.read(h, size - h.size())) {
            return truncated("header");
        }
        std::uint64_t format_id = 0;
        std::uint16_t build_size = 0;
        std::uint64_t checksum = 0;
        const char* p = fmt::get(h.data() + 16, format_id);
        p = fmt::get(p, written_unix_);
        p = fmt::get(p, build_size);
        if (build_size != size - kFixed) {
            return fail("corrupt header (build name)");
        }
        fmt::get(h.data() + size - 8, checksum);
        if (options_.verify_checksums &&
            checksum != xxh3(std::string_view(h).substr(0, size - 8))) {
            return fail("corrupt header (checksum)");
        }
        result_.build.assign(p, build_size);
        for (char& c : result_.build) { // it goes into a log line: printable, one line
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
                c = '?';
            }
        }
        const std::string_view format_text = version_ == fmt::kFormatVersion1   ? fmt::kFormatTextV1
                                             : version_ == fmt::kFormatVersion2 ? fmt::kFormatTextV2
                                                                                : fmt::kFormatText;
        if (format_id != xxh3(format_text)) {
            return fail("format id differs from this build's (written by " + result_.build + ")");
        }
        // Wall time that passed while no process kept the objects, rounded up to whole seconds
        // plus one: an object may come back older than it is, never younger.
        // (Compared before subtracting: a damaged time must not overflow.)
        constexpr std::int64_t kMaxDown = kMaxMillis / 1000;
        const std::int64_t down = written_unix_ >= now_unix_ ? 0
                                  : written_unix_ < now_unix_ - kMaxDown
                                      ? kMaxDown
                                      : now_unix_ - written_unix_;
        down_ms_ = (down + 1) * 1000;
        return true;
    }

    bool read_blocks() {
        std::string header;
        for (;;) {
            header.clear();
            if (!in_.read(header, fmt::kBlockHeaderBytes)) {
                return truncated("block header");
            }
            std::uint32_t kind = 0;
            std::uint32_t count = 0;
            std::uint64_t bytes = 0;
            std::uint64_t payload_hash = 0;
            std::uint64_t checksum = 0;
            const char* p = fmt::get(header.data(), kind);
            p = fmt::get(p, count);
            p = fmt::get(p, bytes);
            p = fmt::get(p, payload_hash);
            fmt::get(p, checksum);
            if (options_.verify_checksums &&
                checksum != xxh3(std::string_view(header).substr(0, 24))) {
                return fail("corrupt block header at byte " + std::to_string(in_.offset() - 32));
            }
            if (kind == static_cast<std::uint32_t>(fmt::BlockKind::End)) {
                if (count != records_ || bytes != 0 || payload_hash != payload_total_) {
                    return fail("end block disagrees with the blocks read (" +
                                std::to_string(records_) + " objects)");
                }
                return in_.at_end() ? true : fail("bytes after the end block");
            }
            if (kind == static_cast<std::uint32_t>(fmt::BlockKind::Ghosts) &&
                version_ != fmt::kFormatVersion1) {
                if (!read_ghosts(count, bytes, payload_hash)) {
                    return false;
                }
                payload_total_ += bytes;
                continue;
            }
            if (kind != static_cast<std::uint32_t>(fmt::BlockKind::Objects) || count == 0) {
                return fail("corrupt block header at byte " + std::to_string(in_.offset() - 32));
            }
            if (!read_objects(count, bytes, payload_hash)) {
                return false;
            }
            payload_total_ += bytes;
        }
    }

    // One block of `count` records in `bytes`, read record by record: the strings into a
    // scratch buffer, each body straight into its new object (or, for an object not kept,
    // through a scratch buffer), hashing as it goes; the block's checksum is compared at its end
    // (until then, and if it differs, nothing reaches the store).
    bool read_objects(std::uint32_t count, std::uint64_t bytes, std::uint64_t payload_hash) {
        XXH3_state_t& state = *hash_state_;
        XXH3_64bits_reset(&state);
        std::uint64_t left = bytes;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (left < fmt::kRecordBytes) {
                return fail("corrupt record " + std::to_string(records_) + " (short block)");
            }
            scratch_.clear();
            if (!in_.read(scratch_, fmt::kRecordBytes)) {
                return truncated("record");
            }
            XXH3_64bits_update(&state, scratch_.data(), fmt::kRecordBytes);
            left -= fmt::kRecordBytes;
            fmt::Record r;
            fmt::decode(scratch_.data(), r);
            const std::uint64_t total = std::uint64_t{fmt::kRecordBytes} + r.key_size +
                                        r.head_size + r.etag_size + r.lm_size + r.vary_size +
                                        r.tags_size + r.body_size;
            if (!plausible(r, version_) || total != r.record_bytes ||
                total - fmt::kRecordBytes > left) {
                return fail("corrupt record " + std::to_string(records_));
            }
            const std::uint64_t strings = total - fmt::kRecordBytes - r.body_size;
            scratch_.clear();
            if (!in_.read(scratch_, strings)) {
                return truncated("record");
            }
            XXH3_64bits_update(&state, scratch_.data(), scratch_.size());
            left -= total - fmt::kRecordBytes;
            ++records_;
            ObjectRef o;
            if (!consider(r, scratch_, o)) {
                return false;
            }
            if (!read_body(o, r.body_size, state)) {
                return truncated("object body");
            }
            if (o) {
                staged_bytes_ += o->charge();
                staged_.push_back(std::move(o));
                ObjectStore::QueuePlace place;
                place.main = (r.queue & fmt::kQueueMain) != 0;
                place.protected_segment = (r.queue & fmt::kQueueProtected) != 0;
                place.hits = static_cast<std::uint8_t>(r.queue & fmt::kQueueHitBits);
                place.frequency = static_cast<std::uint8_t>((r.queue & fmt::kQueueFrequencyBits) >>
                                                            fmt::kQueueFrequencyShift);
                places_.push_back(place);
            }
        }
        if (left != 0) {
            return fail("corrupt block (bytes after its records)");
        }
        if (options_.verify_checksums && XXH3_64bits_digest(&state) != payload_hash) {
            return fail("block checksum mismatch at byte " + std::to_string(in_.offset() - bytes));
        }
        return true;
    }

    // A block of S3-FIFO ghosts: `count` (shard, hash) pairs, one block per file.
    bool read_ghosts(std::uint32_t count, std::uint64_t bytes, std::uint64_t payload_hash) {
        if (count == 0 || bytes != std::uint64_t{count} * fmt::kGhostBytes || !ghosts_.empty() ||
            count > (ObjectStore::kShards << 16)) {
            return fail("corrupt ghost block at byte " + std::to_string(in_.offset() - 32));
        }
        scratch_.clear();
        if (!in_.read(scratch_, bytes)) {
            return truncated("ghost block");
        }
        if (options_.verify_checksums && xxh3(scratch_) != payload_hash) {
            return fail("block checksum mismatch at byte " + std::to_string(in_.offset() - bytes));
        }
        ghosts_.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            ObjectStore::Ghost g;
            fmt::get(fmt::get(scratch_.data() + std::size_t{i} * fmt::kGhostBytes, g.shard),
                     g.hash);
            if (g.shard >= ObjectStore::kShards || g.hash == 0) {
                return fail("corrupt ghost " + std::to_string(i));
            }
            ghosts_.push_back(g);
        }
        return true;
    }

    // The body: into `o` when it is kept, else through the scratch buffer; hashed either way.
    bool read_body(const ObjectRef& o, std::uint32_t size, XXH3_state_t& state) {
        if (o) {
            char* body = o->body_for_fill();
            for (std::size_t done = 0; done < size;) {
                const std::size_t step = std::min<std::size_t>(size - done, kReadChunk);
                if (!in_.read_into(body + done, step)) {
                    return false;
                }
                XXH3_64bits_update(&state, body + done, step);
                done += step;
            }
            return true;
        }
        for (std::size_t done = 0; done < size;) {
            const std::size_t step = std::min<std::size_t>(size - done, kReadChunk);
            skipped_.clear();
            if (!in_.read(skipped_, step)) {
                return false;
            }
            XXH3_64bits_update(&state, skipped_.data(), step);
            done += step;
        }
        return true;
    }

    // Builds the object of one sound record (`bytes`: its strings), body still to fill, unless
    // it is not to be kept (`out` stays empty). False when the record is corrupt.
    bool consider(const fmt::Record& r, std::string_view bytes, ObjectRef& out) {
        std::size_t at = 0;
        const auto take = [&](std::uint32_t size) {
            const std::string_view part = bytes.substr(at, size);
            at += size;
            return part;
        };
        StoredObject::Fields f;
        f.key = take(r.key_size);
        f.head = take(r.head_size);
        f.etag = take(r.etag_size);
        f.last_modified = take(r.lm_size);
        f.vary = take(r.vary_size);
        f.tags = take(r.tags_size);
        const std::string_view url = fmt::url_of_key(f.key);
        if (url.empty()) {
            return fail("corrupt record " + std::to_string(records_ - 1) + " (key)");
        }
        f.window.ttl = core::Millis(r.ttl_ms);
        f.window.stale = core::Millis(r.stale_ms);
        f.window.stale_if_error = core::Millis(r.stale_if_error_ms);
        f.window.must_revalidate = (r.flags & fmt::kMustRevalidate) != 0;
        f.window.reusable_with_authorization = (r.flags & fmt::kWithAuthorization) != 0;
        const std::int64_t age = r.age_ms + down_ms_;
        const std::int64_t since = r.stale_since_ms < 0 ? -1 : r.stale_since_ms + down_ms_;
        const std::int64_t effective = since < 0 ? age : std::max(age, r.ttl_ms + since);
        if (effective >= f.window.hard_bound().count()) {
            ++result_.expired; // not even stale-if-error could serve it now
            return true;
        }
        if (fingerprint_) {
            const std::uint64_t now_fingerprint = fingerprint_(f.key);
            if (now_fingerprint == 0 || now_fingerprint != r.fingerprint) {
                ++result_.policy_changed;
                return true;
            }
        }
        const std::size_t charge =
            sizeof(StoredObject) + bytes.size() + r.body_size + ObjectStore::kOverheadPerObject;
        if (staged_bytes_ + charge > store_.budget()) {
            ++result_.over_budget;
            return true;
        }
        f.hash = xxh3(f.key);
        f.url_hash = xxh3(url);
        f.status = r.status;
        f.date = r.date;
        f.initial_age = r.initial_age;
        f.body_size = r.body_size;
        f.stored_at = now_ - core::Millis(age);
        ObjectRef o(StoredObject::create(f));
        // create() takes an IMF-fixdate Date line out of the head; the head it was written from
        // had none left, unless the origin sent two: then the object would differ. Keep only
        // objects that come back byte for byte.
        if (o->head() != f.head || o->date() != r.date || o->etag() != f.etag ||
            o->last_modified() != f.last_modified) {
            return true;
        }
        if (since >= 0) {
            o->mark_stale(now_ - core::Millis(since));
        }
        out = std::move(o);
        return true;
    }

    // Each object back in its queue with its hits (version 1: on probation), in the file's
    // order, which is each shard's queues newest first.
    void publish() {
        for (std::size_t i = 0; i < staged_.size(); ++i) {
            const std::size_t charge = staged_[i]->charge();
            switch (store_.restore(std::move(staged_[i]), places_[i])) {
            case ObjectStore::Restored::Yes:
                ++result_.loaded;
                result_.bytes += charge;
                break;
            case ObjectStore::Restored::OverBudget:
                ++result_.over_budget;
                break;
            case ObjectStore::Restored::NewerStored:
                ++result_.newer_stored;
                break;
            }
        }
        staged_.clear();
        places_.clear();
        store_.restore_ghosts(ghosts_);
        ghosts_.clear();
    }

    Input in_;
    ObjectStore& store_;
    const core::Instant now_;
    const std::int64_t now_unix_;
    const KeyPolicyFingerprint& fingerprint_;
    const SnapshotReadOptions& options_;
    std::int64_t written_unix_ = 0;
    std::int64_t down_ms_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t payload_total_ = 0;
    std::uint64_t staged_bytes_ = 0;
    std::vector<ObjectRef> staged_;
    std::vector<ObjectStore::QueuePlace> places_; // of staged_[i]
    std::vector<ObjectStore::Ghost> ghosts_;
    std::uint32_t version_ = 0;
    // Hashes a block as it is read (the struct is opaque in the shared library's ABI).
    std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> hash_state_{XXH3_createState(),
                                                                                &XXH3_freeState};
    std::string scratch_; // a record's fixed part, then its strings
    std::string skipped_; // bodies of objects not kept
    SnapshotLoad result_;
    std::string error_;
};

} // namespace

SnapshotLoad read_snapshot(SnapshotSource& source, ObjectStore& store, const core::Clock& clock,
                           const KeyPolicyFingerprint& fingerprint,
                           const SnapshotReadOptions& options) {
    return Reader(source, store, clock, fingerprint, options).run();
}

SnapshotLoad read_snapshot_file(const std::string& path, ObjectStore& store,
                                const core::Clock& clock, const KeyPolicyFingerprint& fingerprint) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        SnapshotLoad result;
        result.missing = errno == ENOENT;
        result.error = std::string("cannot open: ") + core::errno_text(errno);
        return result;
    }
    FileSource source(fd);
    return read_snapshot(source, store, clock, fingerprint);
}

} // namespace lacquer::cache
