#pragma once
// What the caching integration tests share: the Cache-Status values CONFIG.md promises, origin
// handlers whose bodies count their own calls (a hit repeats a body, a refetch never does, so
// the two cannot be confused), and a config with storage plus the test's own routes.

#include "support/http_client.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <atomic>
#include <charconv>
#include <memory>
#include <string>
#include <string_view>

namespace lacquer::test::cache_test {

// The host is part of the key: requests meant to share an object say the same one.
inline const HeaderFields kApiHost{{"Host", "api.test"}};

inline constexpr std::string_view kStored = "lacquer; fwd=uri-miss; stored";
inline constexpr std::string_view kHit = "lacquer; hit";
inline constexpr std::string_view kBypass = "lacquer; fwd=bypass";
inline constexpr std::string_view kRefetchedAndStored = "lacquer; fwd=stale; stored";

// The end of an object with max-age=1 (or ttl: 1s) and `stale: 1s`: from this age on, a request
// must go to the origin before answering. In-process tests (inproc_*) move a manual clock by it,
// so it needs no margin for a loaded machine.
inline constexpr Millis kPastStaleWindow{2000};

// A miss that was forwarded but not stored, and why (CONFIG.md detail names).
inline std::string not_stored(std::string_view reason) {
    return "lacquer; fwd=uri-miss; detail=" + std::string(reason);
}

// A stale object served because the origin failed with `fwd_status` (its 5xx, or 502/504).
inline std::string stale_on_error(int fwd_status) {
    return "lacquer; hit; fwd=stale; fwd-status=" + std::to_string(fwd_status);
}

// A caching route (/c/), a pass route (/p/), and 404 for everything else: one request of each
// kind gives one known cache status (miss/hit, pass, synth).
inline constexpr std::string_view kCachedPassedRejected = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
default_route: reject
)";

// Items tagged by the origin: /items/<id> answers with `Surrogate-Key: item-<id> items`, and a
// route that keeps those tags (purge by tag).
inline constexpr std::string_view kTaggedItemsRoute = R"(routes:
  - name: items
    match: { path_prefix: /items/ }
    cache: { key_params: all, ttl: 60s, tags_header: Surrogate-Key }
)";
inline void answer_tagged_items(ScriptedOrigin& origin) {
    origin.on_any([](OriginExchange& x) {
        const std::string id = x.request().path.substr(x.request().path.rfind('/') + 1);
        x.respond(200,
                  {{"Cache-Control", "max-age=600"}, {"Surrogate-Key", "item-" + id + " items"}},
                  "item " + id);
    });
}

// The contract's storage section plus `yaml` (variants, routes, default_route) at top level.
inline TestConfig caching_config(const ScriptedOrigin& origin, std::string_view yaml = {}) {
    TestConfig config = TestConfig()
                            .origin(origin.address())
                            .storage("memory", "64MiB")
                            .storage("max_object_size", "1MiB");
    if (!yaml.empty()) {
        config.extra(std::string(yaml));
    }
    return config;
}

// Answers `status` with `headers` and the body "<label> #<n>", n counting this handler's calls
// from 1. Handlers run on origin threads, hence the atomic.
inline OriginHandler numbered(std::string label, HeaderFields headers = {}, int status = 200) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    return
        [label = std::move(label), headers = std::move(headers), status, calls](OriginExchange& x) {
            x.respond(status, headers, label + " #" + std::to_string(++*calls));
        };
}

// Requests the origin received for `path`, whatever their query.
inline std::size_t fetches(const ScriptedOrigin& origin, std::string_view path) {
    std::size_t n = 0;
    for (const ReceivedRequest& request : origin.requests()) {
        n += request.path == path ? 1 : 0;
    }
    return n;
}

// The Age header in seconds, or -1 when it is absent or not a plain number.
inline long age_of(const Response& response) {
    const std::string text = response.header("Age");
    long value = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return -1;
    }
    return value;
}

} // namespace lacquer::test::cache_test
