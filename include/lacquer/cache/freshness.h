#pragma once
// Freshness and storability (RFC 9111), as pure functions of the request, the response, the
// route's policy and `now`. Decide here; act in proxy/. The staleness bound is hard: an object
// is never served past stored_at + ttl + max(stale, stale_if_error), whatever the origin says.

#include "lacquer/core/clock.h"
#include "lacquer/http/head.h"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace lacquer::cache {

using Seconds = std::chrono::seconds;

// The route's cache policy in the units freshness needs (from config::CachePolicyConfig).
struct FreshnessPolicy {
    core::Millis ttl{0};       // used when the origin gives no freshness (0: none)
    bool override_ttl = false; // ignore the origin's freshness
    bool heuristic = false;    // allow RFC 9111 §4.2.2 heuristics (default route)
    core::Millis stale{std::chrono::minutes(10)};
    core::Millis stale_if_error{std::chrono::minutes(15)};
};

#define LACQUER_NOT_STORED_REASONS(X)                                                              \
    X(Stored, "stored")                                                                            \
    X(Method, "method")                                                                            \
    X(Status, "status")                                                                            \
    X(NoStore, "no_store")                                                                         \
    X(Private, "private")                                                                          \
    X(SetCookie, "set_cookie")                                                                     \
    X(Authorization, "authorization")                                                              \
    X(VaryStar, "vary_star")                                                                       \
    X(Vary, "vary")                                                                                \
    X(NoFreshness, "no_freshness")                                                                 \
    X(TooLarge, "too_large")                                                                       \
    X(Incomplete, "incomplete")

enum class StoreVerdict : std::uint8_t {
#define LACQUER_AS_ENUM(name, text) name,
    LACQUER_NOT_STORED_REASONS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view store_verdict_name(StoreVerdict verdict);

// How long a stored object may be used, relative to when it was stored.
struct FreshnessWindow {
    core::Millis ttl{0};            // fresh while age < ttl
    core::Millis stale{0};          // then served while refreshing, up to ttl + stale
    core::Millis stale_if_error{0}; // or, when the origin fails, up to ttl + stale_if_error
    bool must_revalidate = false;   // no-cache: every use needs the origin's word

    core::Millis hard_bound() const {
        return ttl + (stale > stale_if_error ? stale : stale_if_error);
    }
};

struct StoreDecision {
    StoreVerdict verdict = StoreVerdict::Stored;
    FreshnessWindow window;
    bool storable() const { return verdict == StoreVerdict::Stored; }
};

// May this response be stored, and for how long? `fetch_method` is the method the origin was
// asked with (a HEAD miss is fetched as GET so that the answer can be stored); the request's
// headers count (no-store, Authorization). `now_unix` reads the origin's Date/Expires.
StoreDecision decide_storage(const http::RequestHead& request, std::string_view fetch_method,
                             const http::ResponseHead& response, const FreshnessPolicy& policy,
                             std::int64_t now_unix);

// The origin's Age header in seconds (0 when absent or invalid), capped at 2^31.
std::int64_t origin_age(const http::HeaderList& headers);

enum class Usability : std::uint8_t { Fresh, StaleRefresh, StaleIfError, Unusable };
enum class OriginHealth : std::uint8_t { Up, Down };

// What an object of `age` may be used for now. Down: the origin just failed for this request.
Usability classify(const FreshnessWindow& window, core::Millis age, OriginHealth origin);

} // namespace lacquer::cache
