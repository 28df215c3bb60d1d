#pragma once
// The live transaction log (`lacquerctl log`, `top`): while someone watches, each worker copies
// every finished request's record (client, method, URL, host, route, key, variants, the FSM
// steps with their times, Cache-Status, origin server, fetch times, status, bytes) into its own
// single-producer ring of fixed-size records; the admin thread drains the rings, filters and
// formats. Nobody watching costs a worker one relaxed load and a branch per request
// (TransactionLog::watching()); a watched request costs one bounded copy and no allocation.
// A full ring drops the record and counts it: a slow reader never blocks a worker.
// Threads: record writers are workers (one per ring); everything else is the reader's one
// thread (the admin thread), which creates rings before it turns the flag on.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace lacquer::proxy {

class TransactionFilter; // transaction_filter.h

// One finished request, as plain bytes: copied into a ring slot, never pointing anywhere.
struct TransactionRecord {
    // Text fields live in one area, each truncated to what is left (a URL first gets up to
    // kUrlBytes); what was cut ends in "...".
    enum class Field : std::uint8_t {
        Client,
        Method,
        Host,
        Url,
        Route,
        Key,         // the canonical key with its variant lines; empty when none was built
        CacheStatus, // the Cache-Status value ("lacquer; fwd=uri-miss; stored")
        Origin,      // the origin server that answered ("-" when none); the last
    };
    static constexpr std::size_t kFields = static_cast<std::size_t>(Field::Origin) + 1;
    static constexpr std::size_t kTextBytes = 2048;
    static constexpr std::size_t kUrlBytes = 1024;
    static constexpr std::size_t kSteps = 16;
    static constexpr std::uint32_t kNoTime = UINT32_MAX;

    struct StepAt {
        std::uint8_t step = 0;   // proxy::Step
        std::uint32_t at_us = 0; // since the request began
    };

    std::int64_t unix_time = 0;            // seconds, when the request ended
    std::uint64_t bytes = 0;               // body bytes sent to the client
    std::uint32_t total_us = 0;            // the whole request
    std::uint32_t origin_us = kNoTime;     // origin exchange, start to end
    std::uint32_t first_byte_us = kNoTime; // origin exchange start to its answer's head
    std::uint16_t status = 0;
    std::uint8_t cache_status = 0; // proxy::CacheStatus
    std::uint8_t step_count = 0;   // steps kept (the newest kSteps)
    std::uint16_t worker = 0;
    std::array<StepAt, kSteps> steps{};
    std::array<std::uint16_t, kFields + 1> offsets{}; // field i is text[offsets[i], offsets[i+1])
    std::array<char, kTextBytes> text{};

    std::string_view field(Field f) const {
        const auto i = static_cast<std::size_t>(f);
        return {text.data() + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i])};
    }
    // Fields are set in order, each once (set_field(Client, ...), then Method, ...).
    void set_field(Field f, std::string_view value);
    // The variant lines of the key ("locale=de-DE\ncurrency=EUR\n"), after its first four lines.
    std::string_view variants() const;
};

// One worker's ring. The writer is the worker; the reader the admin thread.
class TransactionRing {
public:
    explicit TransactionRing(std::size_t capacity_power_of_two);
    // Writer: the slot to fill, or nullptr when the ring is full (the record is dropped and
    // counted). publish() makes the slot visible to the reader.
    TransactionRecord* claim();
    void publish();
    // Reader: calls `take(record)` for each published record, oldest first; how many.
    template <class Take> std::size_t drain(Take take);
    // Reader: forget what is there (a new watcher starts from now).
    void skip_all() {
        tail_.store(head_.load(std::memory_order_acquire), std::memory_order_release);
    }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::size_t capacity() const { return mask_ + 1; }

private:
    std::unique_ptr<TransactionRecord[]> slots_;
    std::size_t mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0}; // written by the writer
    std::atomic<std::uint64_t> dropped_{0};          // written by the writer
    alignas(64) std::atomic<std::uint64_t> tail_{0}; // written by the reader
};

template <class Take> std::size_t TransactionRing::drain(Take take) {
    std::uint64_t t = tail_.load(std::memory_order_relaxed);
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    const std::size_t n = h - t;
    for (; t != h; ++t) {
        take(slots_[t & mask_]);
        tail_.store(t + 1, std::memory_order_release); // the slot may be written again
    }
    return n;
}

class TransactionWatch;

// What a worker without a log looks at (WorkerContext::transactions_watched): never true.
inline constinit const std::atomic<bool> kNobodyWatches{false};

// Process-wide: one ring per worker index, made by the reader before the flag goes on (and for
// the indices a reload adds, at the reader's next drain); the watchers of the admin thread. The
// rings outlive every worker's use of them (the log outlives the workers). A reload that moves
// the admin listener has two admin threads for a while: the reader side takes a lock (never
// the workers).
class TransactionLog {
public:
    static constexpr std::size_t kRingRecords = 512; // ~1.1 MiB per worker, only once watched

    // Room for worker indices below `capacity`; rings for the first `workers` (set_workers).
    TransactionLog(unsigned workers, unsigned capacity);
    ~TransactionLog();
    TransactionLog(const TransactionLog&) = delete;
    TransactionLog& operator=(const TransactionLog&) = delete;

    // Any worker: true while someone watches. The only cost of the log when nobody does.
    bool watching() const { return watching_.load(std::memory_order_relaxed); }
    const std::atomic<bool>& watching_flag() const { return watching_; }
    // Worker `worker`'s ring (the worker's thread only, while watching()).
    TransactionRing* ring(unsigned worker) const {
        return worker < capacity_ ? rings_[worker].load(std::memory_order_acquire) : nullptr;
    }
    // Any thread (a reload): worker indices below `workers` are in use now.
    void set_workers(unsigned workers);

    // Reader thread: a new watcher with its filter (the flag goes on); it leaves when the
    // watch is destroyed (the flag goes off with the last one).
    std::unique_ptr<TransactionWatch> watch(std::unique_ptr<const TransactionFilter> filter);
    // Reader thread: how many watch now.
    std::size_t watchers() const;
    // Reader thread: the records dropped by full rings since the log began.
    std::uint64_t ring_drops() const;
    // Reader thread: moves every ring's records to the watchers whose filter takes them.
    void drain();

private:
    friend class TransactionWatch;
    void leave(TransactionWatch* watch);
    void make_rings();                       // reader_mutex_ held
    void drain_locked();                     // likewise
    std::uint64_t ring_drops_locked() const; // likewise
    mutable std::mutex reader_mutex_;
    std::unique_ptr<std::atomic<TransactionRing*>[]> rings_;
    const unsigned capacity_;
    std::atomic<unsigned> workers_;
    std::vector<std::unique_ptr<TransactionRing>> owned_;
    std::vector<TransactionWatch*> watches_;
    std::atomic<bool> watching_{false};
};

} // namespace lacquer::proxy
