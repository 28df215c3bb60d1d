#pragma once
// Metrics declared once, counted per worker without contention, summed at scrape.
// At start-up the server declares every series (label sets are closed: routes, origins, cache
// statuses and reasons are known from the config), each getting a slot. A reload declares the
// new config's series again: a series that exists keeps its slot (a value read through a
// callback takes the new callback), a new one gets a new slot, up to the registry's capacity,
// which is what every Shard is sized to. A worker counts into
// its own Shard (one writer, plain relaxed stores); a scrape sums the shards into
// prometheus-cpp's MetricFamily objects (ShardCollector, a prometheus::Collectable) and
// prometheus-cpp's TextSerializer writes the text exposition format (version 0.0.4).
// prometheus-cpp's own counters are atomics shared by every thread: they are never on the
// request path. Values kept elsewhere (store bytes, open connections) are read through
// callbacks at scrape.

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

inline constexpr std::uint32_t kNoSlot = UINT32_MAX;

// A histogram's slots: one per bucket plus +Inf (not cumulative), then the sum in
// microseconds, then the count. kNoSlot: a series not declared (a label set that cannot
// occur); observing it does nothing.
struct HistogramSlots {
    std::uint32_t first = 0;
};

// A route's usage (route_usage.h): kNoSlot for none (requests refused before routing).
struct RouteUsageSlots {
    std::uint32_t first = kNoSlot;
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
    // For values that are not sums (route usage: times and tagged buckets). One writer.
    void set(std::uint32_t slot, std::uint64_t value) {
        values_[slot].store(value, std::memory_order_relaxed);
    }
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

    // The slots of `route`'s usage: last request time and recent counts (route_usage.h).
    // Found again on a reload, like a series.
    RouteUsageSlots route_usage(std::string_view route);
    // Every route whose usage was declared, in declaration order (routes a reload removed too).
    std::vector<std::pair<std::string, RouteUsageSlots>> route_usage_slots() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return usage_;
    }

    std::size_t slot_count() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return slots_;
    }
    std::size_t capacity() const { return capacity_; }

    // Any thread, after declaration: the exposition of every series, shards summed
    // (prometheus-cpp's TextSerializer over a ShardCollector). exposition.h adds process_*.
    void write(std::string& out, std::span<const Shard* const> shards) const;

private:
    friend class ShardCollector; // reads the families under mutex_
    enum class Kind : std::uint8_t { Counter, Gauge, Histogram };
    struct Series {
        std::string labels; // `a="b",c="d"` (escaped), without braces: the series' identity
        Labels pairs;       // the same, as names and values for the exposition
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

    mutable std::mutex mutex_; // guards families_, usage_ and slots_
    std::vector<Family> families_;
    std::vector<std::pair<std::string, RouteUsageSlots>> usage_; // declaration order
    std::uint32_t slots_ = 0;
    std::size_t capacity_;
};

} // namespace lacquer::metrics
