#include "lacquer/metrics/registry.h"

#include "lacquer/core/assert.h"
#include "lacquer/metrics/route_usage.h"
#include "shard_collector.h"

#include <ctime>
#include <prometheus/text_serializer.h>
#include <sstream>
#include <stdexcept>

namespace lacquer::metrics {

namespace {

constexpr std::size_t kBuckets = kLatencyBuckets.size() + 1; // + the +Inf bucket

void append_escaped(std::string& out, std::string_view value, bool help) {
    for (const char c : value) {
        if (c == '\\') {
            out.append("\\\\");
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '"' && !help) {
            out.append("\\\"");
        } else {
            out.push_back(c);
        }
    }
}

std::string label_text(const Labels& labels) {
    std::string out;
    for (const auto& [name, value] : labels) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out.append(name);
        out.append("=\"");
        append_escaped(out, value, false);
        out.push_back('"');
    }
    return out;
}

} // namespace

Shard::Shard(std::size_t slots)
    : size_(slots), values_(std::make_unique<std::atomic<std::uint64_t>[]>(slots)) {
    for (std::size_t i = 0; i < slots; ++i) {
        values_[i].store(0, std::memory_order_relaxed);
    }
}

void Shard::observe(HistogramSlots h, core::Duration elapsed) {
    if (h.first == kNoSlot) {
        return;
    }
    const double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t bucket = 0;
    while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) {
        ++bucket;
    }
    add(h.first + static_cast<std::uint32_t>(bucket));
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    add(h.first + kBuckets, static_cast<std::uint64_t>(micros < 0 ? 0 : micros));
    add(h.first + kBuckets + 1);
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind) {
    for (Family& f : families_) {
        if (f.name == name) {
            LACQUER_ASSERT(f.kind == kind);
            return f;
        }
    }
    families_.push_back(Family{std::string(name), std::string(help), kind, {}});
    return families_.back();
}

Registry::Series* Registry::find(Family& f, const std::string& labels) {
    for (Series& s : f.series) {
        if (s.labels == labels) {
            return &s;
        }
    }
    return nullptr;
}

std::uint32_t Registry::take_slots(std::uint32_t n) {
    if (slots_ + n > capacity_) {
        throw std::length_error("more metric series than the registry holds (" +
                                std::to_string(capacity_) + " slots): restart lacquerd");
    }
    const std::uint32_t first = slots_;
    slots_ += n;
    return first;
}

std::uint32_t Registry::counter(std::string_view name, std::string_view help,
                                const Labels& labels) {
    std::lock_guard<std::mutex> lock(mutex_);
    Family& f = family(name, help, Kind::Counter);
    std::string text = label_text(labels);
    if (const Series* s = find(f, text)) {
        return s->slot;
    }
    const std::uint32_t slot = take_slots(1);
    f.series.push_back(Series{std::move(text), labels, slot, {}});
    return slot;
}

HistogramSlots Registry::histogram(std::string_view name, std::string_view help,
                                   const Labels& labels) {
    std::lock_guard<std::mutex> lock(mutex_);
    Family& f = family(name, help, Kind::Histogram);
    std::string text = label_text(labels);
    if (const Series* s = find(f, text)) {
        return HistogramSlots{s->slot};
    }
    const std::uint32_t first = take_slots(static_cast<std::uint32_t>(kBuckets + 2));
    f.series.push_back(Series{std::move(text), labels, first, {}});
    return HistogramSlots{first};
}

void Registry::set_read(Family& f, const Labels& labels, std::function<double()> read) {
    std::string text = label_text(labels);
    if (Series* s = find(f, text)) {
        s->read = std::move(read); // a reload's sources replace the old ones
        return;
    }
    f.series.push_back(Series{std::move(text), labels, 0, std::move(read)});
}

void Registry::gauge(std::string_view name, std::string_view help, const Labels& labels,
                     std::function<double()> read) {
    std::lock_guard<std::mutex> lock(mutex_);
    set_read(family(name, help, Kind::Gauge), labels, std::move(read));
}

void Registry::counter_fn(std::string_view name, std::string_view help, const Labels& labels,
                          std::function<double()> read) {
    std::lock_guard<std::mutex> lock(mutex_);
    set_read(family(name, help, Kind::Counter), labels, std::move(read));
}

RouteUsageSlots Registry::route_usage(std::string_view route) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, slots] : usage_) {
        if (name == route) {
            return slots;
        }
    }
    const RouteUsageSlots slots{take_slots(kRouteUsageSlotCount)};
    usage_.emplace_back(std::string(route), slots);
    return slots;
}

void Registry::write(std::string& out, std::span<const Shard* const> shards) const {
    const ShardCollector collector(*this, shards, std::time(nullptr));
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, collector.Collect());
    out.append(text.str());
}

} // namespace lacquer::metrics
