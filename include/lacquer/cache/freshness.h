#pragma once
// Freshness and storability (RFC 9111), as pure functions of the request, the response, the
// route's policy and `now`. Decide here; act in proxy/. The staleness bound is hard: an object
// is never served past stored_at + ttl + max(stale, stale_if_error), whatever the origin says.

#include "lacquer/core/clock.h"
#include "lacquer/http/head.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::cache {

using Seconds = std::chrono::seconds;

// The route's cache policy in the units freshness needs (from config::CachePolicyConfig).
struct FreshnessPolicy {
    core::Millis ttl{0};       // used when the origin gives no freshness (0: none)
    bool override_ttl = false; // ignore the origin's freshness
    bool heuristic = false;    // allow RFC 9111 §4.2.2 heuristics (default route)
    core::Millis stale{std::chrono::minutes(10)};
    core::Millis stale_if_error{std::chrono::minutes(15)};
    // How long a window the origin's stale-while-revalidate / stale-if-error (RFC 5861) may
    // open where the policy has none of its own (0 here: the origin can only shorten the
    // route's windows). The default route, whose windows are 0, sets kOriginStaleBound.
    core::Millis origin_stale_bound{0};
    core::Millis origin_stale_if_error_bound{0};
    // Refuse to store any 5xx, even with explicit freshness (RFC 9111 §3 would allow it).
    bool refuse_5xx = false;
    // RFC 9213 targeted fields, in order: the first valid one replaces Cache-Control/Expires.
    std::vector<std::string> targeted_fields{"CDN-Cache-Control"};
};

// The hard bound on a window the origin alone opens (the default route's).
inline constexpr core::Millis kOriginStaleBound{std::chrono::minutes(15)};

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
    // RFC 9111 §3.5: the response was public, s-maxage or must-revalidate, so a request with
    // Authorization may reuse it.
    bool reusable_with_authorization = false;

    core::Millis hard_bound() const {
        return ttl + (stale > stale_if_error ? stale : stale_if_error);
    }
};

struct StoreDecision {
    StoreVerdict verdict = StoreVerdict::Stored;
    FreshnessWindow window;
    std::int64_t initial_age = 0; // corrected_initial_age() of the response, seconds
    bool storable() const { return verdict == StoreVerdict::Stored; }
};

// May this response be stored, and for how long? `fetch_method` is the method the origin was
// asked with (a HEAD miss is fetched as GET so that the answer can be stored); the request's
// headers count (no-store, Authorization). `now_unix` is when the response came (it reads the
// origin's Date/Expires), `response_delay` how long after the request went out (§4.2.3).
StoreDecision decide_storage(const http::RequestHead& request, std::string_view fetch_method,
                             const http::ResponseHead& response, const FreshnessPolicy& policy,
                             std::int64_t now_unix, core::Millis response_delay = core::Millis(0));

// The origin's Age header in seconds (0 when absent or invalid), capped at 2^31; of a list
// value, its first member (RFC 9111 §5.1).
std::int64_t origin_age(const http::HeaderList& headers);

// RFC 9111 §4.2.3: the age of a response when it arrived, in seconds:
//   max(apparent_age, age_value + response_delay), apparent_age = max(0, response_time - Date).
// `response_unix` is the response_time; a Date that is absent or invalid counts as no age.
std::int64_t corrected_initial_age(const http::HeaderList& headers, std::int64_t response_unix,
                                   core::Millis response_delay);

enum class Usability : std::uint8_t { Fresh, StaleRefresh, StaleIfError, Unusable };
enum class OriginHealth : std::uint8_t { Up, Down };

// What an object of `age` may be used for now. Down: the origin just failed for this request.
Usability classify(const FreshnessWindow& window, core::Millis age, OriginHealth origin);

} // namespace lacquer::cache
