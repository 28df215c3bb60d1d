// A minimal Prometheus text reader: sample lines only, names matched exactly, values summed.
#include "support/metrics_scrape.h"

#include "support/gate.h"
#include "support/http_client.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {

namespace {

// Between scrapes: short enough for a snappy test, long enough not to load the proxy.
constexpr Millis kScrapeInterval{20};

} // namespace

std::optional<double> metric_value(std::string_view text, std::string_view name,
                                   std::string_view label_filter) {
    std::optional<double> sum;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (line.empty() || line.front() == '#' || !line.starts_with(name)) {
            continue;
        }
        std::string_view rest = line.substr(name.size());
        std::string_view labels;
        if (!rest.empty() && rest.front() == '{') {
            const std::size_t close = rest.find('}');
            if (close == std::string_view::npos) {
                continue;
            }
            labels = rest.substr(1, close - 1);
            rest.remove_prefix(close + 1);
        }
        if (rest.empty() || rest.front() != ' ') {
            continue; // a longer name that merely starts with `name`
        }
        if (!label_filter.empty() && labels.find(label_filter) == std::string_view::npos) {
            continue;
        }
        const std::string value(rest.substr(1, rest.find(' ', 1) - 1));
        char* parsed_end = nullptr;
        const double v = std::strtod(value.c_str(), &parsed_end);
        if (parsed_end != value.c_str()) {
            sum = sum.value_or(0.0) + v;
        }
    }
    return sum;
}

std::optional<double> scrape_metric(std::uint16_t port, std::string_view name,
                                    std::string_view label_filter, Millis timeout) {
    const Response response = http_get(port, "/metrics", {}, timeout);
    if (!response.complete || response.status != 200) {
        return std::nullopt;
    }
    return metric_value(response.body, name, label_filter);
}

bool wait_for_metric(std::uint16_t port, std::string_view name, double at_least, Millis timeout,
                     std::string_view label_filter, std::optional<double>* last_seen) {
    const Deadline deadline(timeout);
    for (;;) {
        const std::optional<double> value =
            scrape_metric(port, name, label_filter, std::max(deadline.remaining(), Millis(100)));
        if (last_seen != nullptr) {
            *last_seen = value;
        }
        if (value && *value >= at_least) {
            return true;
        }
        if (deadline.expired()) {
            return false;
        }
        (void)detail::interruptible_sleep(std::min(kScrapeInterval, deadline.remaining()));
    }
}

bool expect_metric(std::uint16_t admin_port, std::string_view name, double at_least, Millis timeout,
                   std::string_view label_filter) {
    if (admin_port == 0) {
        ADD_FAILURE() << "wait_for_metric(" << name << "): no admin listener "
                      << "(use TestConfig().admin())";
        return false;
    }
    std::optional<double> last;
    const bool reached = wait_for_metric(admin_port, name, at_least, timeout, label_filter, &last);
    if (!reached) {
        ADD_FAILURE() << "waited " << timeout.count() << " ms for " << name << " >= " << at_least
                      << "; last value " << (last ? std::to_string(*last) : std::string("absent"));
    }
    return reached;
}

} // namespace lacquer::test
