#pragma once
// Metrics declared once, counted per worker without contention, summed at scrape.
// At start-up the server declares every series (label sets are closed: routes, origins, cache
// statuses and reasons are known from the config), each getting a slot. A reload declares the
// new config's series again: a series that exists keeps its slot (a value read through a
// callback takes the new callback), a new one gets a new slot, up to the registry's capacity,
// which is what every Shard is sized to. A worker counts into
// its own Shard (one writer, plain relaxed stores); a scrape sums the shards and writes the
// Prometheus text exposition format (version 0.0.4). Values kept elsewhere (store bytes, open
// connections) are read through callbacks at scrape.

#include "lacquer/core/clock.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lacquer::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Upper bounds, in seconds, of every duration histogram.
inline constexpr std::array<double, 14> kLatencyBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// A histogram's slots: one per bucket plus +Inf (not cumulative), then the sum in
// microseconds, then the count.
struct HistogramSlots {
    std::uint32_t first = 0;
};

// One worker's values. Written by its worker only, read by the scraper at any time.
class Shard {
public:
    explicit Shard(std::size_t slots);

    void add(std::uint32_t slot, std::uint64_t n = 1) {
        std::atomic<std::uint64_t>& v = values_[slot];
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void observe(HistogramSlots h, core::Duration elapsed);
    std::uint64_t get(std::uint32_t slot) const {
        return values_[slot].load(std::memory_order_relaxed);
    }
    std::size_t size() const { return size_; }

private:
    std::size_t size_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> values_;
};

class Registry {
public:
    static constexpr std::size_t kDefaultCapacity = 32 * 1024;
    explicit Registry(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

    // Declaration (start-up, reload), concurrent with write(). A family (name) keeps its first
    // help text and kind; families are written in declaration order. Throws std::length_error
    // when the slots would pass capacity().
    std::uint32_t counter(std::string_view name, std::string_view help, const Labels& labels = {});
    HistogramSlots histogram(std::string_view name, std::string_view help,
                             const Labels& labels = {});
    void gauge(std::string_view name, std::string_view help, const Labels& labels,
               std::function<double()> read);
    // A counter whose value is kept elsewhere (read at scrape).
    void counter_fn(std::string_view name, std::string_view help, const Labels& labels,
                    std::function<double()> read);

    std::size_t slot_count() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return slots_;
    }
    std::size_t capacity() const { return capacity_; }

    // Any thread, after declaration: the exposition of every series, shards summed.
    void write(std::string& out, std::span<const Shard* const> shards) const;

private:
    enum class Kind : std::uint8_t { Counter, Gauge, Histogram };
    struct Series {
        std::string labels; // `a="b",c="d"` (escaped), without braces
        std::uint32_t slot = 0;
        std::function<double()> read; // set: the value comes from here
    };
    struct Family {
        std::string name;
        std::string help;
        Kind kind;
        std::vector<Series> series;
    };
    Family& family(std::string_view name, std::string_view help, Kind kind);
    // The series of `labels` in `f`, or nullptr (mutex_ held).
    static Series* find(Family& f, const std::string& labels);
    std::uint32_t take_slots(std::uint32_t n);
    void set_read(Family& f, const Labels& labels, std::function<double()> read);

    mutable std::mutex mutex_; // guards families_ and slots_
    std::vector<Family> families_;
    std::uint32_t slots_ = 0;
    std::size_t capacity_;
};

} // namespace lacquer::metrics
