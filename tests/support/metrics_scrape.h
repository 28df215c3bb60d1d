#pragma once
// Reading Prometheus text from an admin listener, so tests can wait on a metric with a deadline
// (VTC's -expect) instead of sleeping.

#include "support/deadline.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace lacquer::test {

// The sum of every sample named exactly `name` whose label text contains `label_filter`
// (e.g. R"(route="listings")"); nullopt when no such sample exists.
std::optional<double> metric_value(std::string_view prometheus_text, std::string_view name,
                                   std::string_view label_filter = {});

// GET /metrics on 127.0.0.1:port, then metric_value(). nullopt when unreachable or absent.
std::optional<double> scrape_metric(std::uint16_t port, std::string_view name,
                                    std::string_view label_filter = {}, Millis timeout = 5s);

// Scrapes until the metric is >= at_least or the deadline passes. On failure, `last_seen`
// (if given) holds the last value read, for the assertion message.
[[nodiscard]] bool wait_for_metric(std::uint16_t port, std::string_view name, double at_least,
                                   Millis timeout, std::string_view label_filter = {},
                                   std::optional<double>* last_seen = nullptr);

// wait_for_metric() on the admin listener at `admin_port` that reports a test failure, naming
// the metric and its last value, when the deadline passes (or when there is no admin port).
[[nodiscard]] bool expect_metric(std::uint16_t admin_port, std::string_view name, double at_least,
                                 Millis timeout, std::string_view label_filter);

} // namespace lacquer::test
