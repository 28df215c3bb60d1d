#include "lacquer/metrics/registry.h"

#include "lacquer/core/assert.h"

#include <charconv>
#include <cmath>
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

void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
        out.append("NaN");
        return;
    }
    if (std::isinf(v)) {
        out.append(v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_u64(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// `name{labels}` or `name{labels,extra}`, then a space.
void append_series_name(std::string& out, std::string_view name, std::string_view suffix,
                        std::string_view labels, std::string_view extra = {}) {
    out.append(name);
    out.append(suffix);
    if (!labels.empty() || !extra.empty()) {
        out.push_back('{');
        out.append(labels);
        if (!labels.empty() && !extra.empty()) {
            out.push_back(',');
        }
        out.append(extra);
        out.push_back('}');
    }
    out.push_back(' ');
}

std::uint64_t sum(std::span<const Shard* const> shards, std::uint32_t slot) {
    std::uint64_t total = 0;
    for (const Shard* s : shards) {
        total += s->get(slot);
    }
    return total;
}

} // namespace

Shard::Shard(std::size_t slots)
    : size_(slots), values_(std::make_unique<std::atomic<std::uint64_t>[]>(slots)) {
    for (std::size_t i = 0; i < slots; ++i) {
        values_[i].store(0, std::memory_order_relaxed);
    }
}

void Shard::observe(HistogramSlots h, core::Duration elapsed) {
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
    f.series.push_back(Series{std::move(text), slot, {}});
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
    f.series.push_back(Series{std::move(text), first, {}});
    return HistogramSlots{first};
}

void Registry::set_read(Family& f, const Labels& labels, std::function<double()> read) {
    std::string text = label_text(labels);
    if (Series* s = find(f, text)) {
        s->read = std::move(read); // a reload's sources replace the old ones
        return;
    }
    f.series.push_back(Series{std::move(text), 0, std::move(read)});
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

void Registry::write(std::string& out, std::span<const Shard* const> shards) const {
    static constexpr std::string_view kKindNames[] = {"counter", "gauge", "histogram"};
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Family& f : families_) {
        out.append("# HELP ");
        out.append(f.name);
        out.push_back(' ');
        append_escaped(out, f.help, true);
        out.append("\n# TYPE ");
        out.append(f.name);
        out.push_back(' ');
        out.append(kKindNames[static_cast<std::size_t>(f.kind)]);
        out.push_back('\n');
        for (const Series& s : f.series) {
            if (f.kind != Kind::Histogram) {
                append_series_name(out, f.name, "", s.labels);
                if (s.read) {
                    append_value(out, s.read());
                } else {
                    append_u64(out, sum(shards, s.slot));
                }
                out.push_back('\n');
                continue;
            }
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b < kBuckets; ++b) {
                cumulative += sum(shards, s.slot + static_cast<std::uint32_t>(b));
                std::string le = "le=\"";
                if (b < kLatencyBuckets.size()) {
                    char buf[32]; // "0.0005", as Prometheus clients write bounds
                    const auto r = std::to_chars(buf, buf + sizeof buf, kLatencyBuckets[b],
                                                 std::chars_format::fixed);
                    le.append(buf, r.ptr);
                } else {
                    le.append("+Inf");
                }
                le.push_back('"');
                append_series_name(out, f.name, "_bucket", s.labels, le);
                append_u64(out, cumulative);
                out.push_back('\n');
            }
            append_series_name(out, f.name, "_sum", s.labels);
            append_value(out, static_cast<double>(sum(shards, s.slot + kBuckets)) / 1e6);
            out.push_back('\n');
            // The buckets' total, read once: consistent with +Inf even while workers count.
            append_series_name(out, f.name, "_count", s.labels);
            append_u64(out, cumulative);
            out.push_back('\n');
        }
    }
}

} // namespace lacquer::metrics
