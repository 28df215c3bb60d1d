#pragma once
// What the admin listener's /metrics answers: every series of the registry (per-worker shards
// summed), each route's usage, and the process_* metrics read from /proc at the scrape, in the
// Prometheus text format 0.0.4 written by prometheus-cpp's TextSerializer.

#include "lacquer/metrics/registry.h"

#include <span>
#include <string>

namespace lacquer::metrics {

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Any thread (the admin thread in the server): appends the exposition to `out`. `unix_now`
// dates the route usage windows.
void write_exposition(std::string& out, const Registry& registry,
                      std::span<const Shard* const> shards, std::int64_t unix_now);

} // namespace lacquer::metrics
