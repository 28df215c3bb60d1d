#pragma once
// The body of an answer being fetched for the cache, readable while it arrives. The fill
// (one writer thread) appends the origin's bytes; requests that waited for the fetch, on any
// worker, send what has arrived so far by reference and are told when there is more, so a
// waiter does not wait for the whole body. Blocks never move once allocated, so readers take
// no lock for the bytes: `filled` (release/acquire) says how far they may read.
// When the body is complete the fill builds the stored object from it and hands it over here
// (complete()); a failed or abandoned body ends in Failed, and readers that have started
// sending must end their response without a proper end (never a complete-looking one).
// Reference-counted like StoredObject; the head and facts waiters answer with live in it.

#include "lacquer/cache/ref.h"
#include "lacquer/cache/stored_object.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::cache {

// Told that a stream has more bytes or has ended. Called on the writer's thread with the
// stream's watcher lock held: it must only hand the news to its own thread (post), never call
// back into the stream.
class StreamWatcher {
public:
    virtual ~StreamWatcher() = default;
    virtual void more() = 0;
};

class BodyStream {
public:
    enum class State : std::uint8_t { Growing, Complete, Failed };

    struct Fields {
        std::string_view head; // as StoredObject::head(): no per-request lines, no framing
        int status = 200;
        bool length_known = false; // Content-Length from the origin
        std::uint64_t length = 0;  // when length_known
        std::string_view vary;     // the secondary key the object will carry (vary.h)
        // When set (length_known, length > 0): the object this body will be stored as, whose
        // body_for_fill() of `length` bytes is then the stream's one block. Writing into it
        // directly spares a block and a copy, and the stream keeps it alive for its readers.
        ObjectRef storage;
    };

    // Reference count 1, owned by the caller (the fill).
    static BodyStream* create(const Fields& fields);
    void ref() const { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() const;

    std::string_view head() const { return head_; }
    int status() const { return status_; }
    bool length_known() const { return length_known_; }
    std::uint64_t length() const { return length_; }
    std::string_view vary() const { return vary_; }

    // ---- readers (any thread) ----
    struct Cursor {
        const void* block = nullptr;
        std::size_t offset = 0;     // in block
        std::uint64_t position = 0; // in the body
    };
    // Load state() before draining readable(): when it said Complete, every byte is readable.
    State state() const { return state_.load(std::memory_order_acquire); }
    // Bytes arrived so far.
    std::uint64_t filled() const { return filled_.load(); }
    // The next run of arrived bytes at `cursor` (empty when none has arrived yet); the cursor
    // moves past them.
    std::string_view read(Cursor& cursor) const;
    // Once Complete: the object stored from this body.
    const ObjectRef& object() const { return object_; }
    void watch(std::shared_ptr<StreamWatcher> watcher);
    void unwatch(const StreamWatcher* watcher);

    // ---- the writer (one thread) ----
    // Room for up to `want` bytes at the end (never empty while want > 0); commit() the bytes
    // written there, which readers may then read.
    std::span<char> room(std::size_t want);
    void commit(std::size_t n);
    std::uint64_t size() const { return written_; }
    // Copies the whole body (size() bytes) to `dst`.
    void copy_to(char* dst) const;
    void complete(ObjectRef object);
    void fail();

    BodyStream(const BodyStream&) = delete;
    BodyStream& operator=(const BodyStream&) = delete;

private:
    // A run of body bytes: after this header in the same allocation, or the body of storage_.
    // `next` is written once, before `filled_` is advanced past this block, so readers see it
    // through that release.
    struct Block {
        Block* next = nullptr;
        std::size_t capacity = 0;
        char* bytes = nullptr;
    };
    explicit BodyStream(const Fields& fields);
    ~BodyStream();
    Block* add_block(std::size_t capacity);
    void end(State state);
    void notify();

    mutable std::atomic<std::uint32_t> refs_{1};
    ObjectRef storage_;
    Block storage_block_; // first_ when storage_ is set
    std::string head_;
    std::string vary_;
    int status_;
    bool length_known_;
    std::uint64_t length_;
    Block* first_ = nullptr;
    Block* tail_ = nullptr;         // writer only
    std::size_t tail_used_ = 0;     // writer only
    std::uint64_t written_ = 0;     // writer only
    std::size_t next_capacity_ = 0; // writer only
    // Sequentially consistent: a watcher clears its "wake-up queued" flag, then reads this.
    std::atomic<std::uint64_t> filled_{0};
    std::atomic<State> state_{State::Growing};
    ObjectRef object_; // set once, before state_ says Complete
    std::mutex watchers_mutex_;
    std::vector<std::shared_ptr<StreamWatcher>> watchers_; // guarded by watchers_mutex_
};

using StreamRef = Ref<BodyStream>;

} // namespace lacquer::cache
