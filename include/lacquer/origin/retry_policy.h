#pragma once
// When a failed origin exchange is tried again: one pure decision, unit-tested without sockets.
// A retry never duplicates work a client could see: only failures before any response byte
// reached the proxy are retried (a 503 only when asked: its head is read, never forwarded), and
// only where the origin cannot have acted on the request, or may act twice (RFC 9110 §9.2.2):
// - a connect that failed or timed out: the origin saw nothing, any method;
// - a reused keep-alive connection that closed before any response byte ("stale"): the origin
//   closed it while idle, before reading the request; any method, once per request, and not
//   counted against `retries` (a transport artefact, as the retry of the round-1 fetch);
// - a fresh connection closed or reset before any response byte, or a 503 with Retry-After absent
//   or 0 (retry_on_503): idempotent methods only, unless retry_non_idempotent.
// Every retry also needs the pool's RetryBudget (retry_budget.h); where it goes (another server,
// a fresh connection) is OriginFetch's part.

#include <cstdint>
#include <string_view>

namespace lacquer::origin {

// Also the `reason` label of lacquer_origin_retries_total.
#define LACQUER_RETRY_REASONS(X)                                                                   \
    X(ConnectFailed, "connect_failed")                                                             \
    X(ConnectTimeout, "connect_timeout")                                                           \
    X(StaleConnection, "stale_connection")                                                         \
    X(Closed, "closed")                                                                            \
    X(Unavailable, "unavailable")

enum class RetryReason : std::uint8_t {
#define LACQUER_AS_ENUM(name, label) name,
    LACQUER_RETRY_REASONS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
inline constexpr std::size_t kRetryReasonCount = 5;
std::string_view retry_reason_name(RetryReason reason);

// The pool's rules (config `retries`, `retry_on_503`, `retry_non_idempotent`).
struct RetryRules {
    std::uint32_t retries = 1;
    bool on_503 = false;
    bool non_idempotent = false;
};

// What failed, and what the request has used so far.
struct FailedAttempt {
    RetryReason reason = RetryReason::ConnectFailed;
    bool idempotent = true;         // is_idempotent(method); a body, if any, is held whole
    std::uint32_t retries_done = 0; // retries counted against `retries`
    bool stale_retry_done = false;  // the once-per-request stale-connection retry was used
};

#define LACQUER_RETRY_VERDICTS(X)                                                                  \
    X(Retry)     /* try again (if the budget allows) */                                            \
    X(Unsafe)    /* the origin may have acted on a non-idempotent request */                       \
    X(NotAsked)  /* a 503 and retry_on_503 is off */                                               \
    X(Exhausted) /* `retries` (or the one stale retry) used up */

enum class RetryVerdict : std::uint8_t {
#define LACQUER_AS_ENUM(name) name,
    LACQUER_RETRY_VERDICTS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view retry_verdict_name(RetryVerdict verdict);

RetryVerdict decide_retry(const FailedAttempt& attempt, const RetryRules& rules);

// Whether a retry for `reason` counts against `retries` (the stale-connection one does not).
constexpr bool counts_against_retries(RetryReason reason) {
    return reason != RetryReason::StaleConnection;
}

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2).
bool is_idempotent(std::string_view method);

// A 503's Retry-After allows a retry when it is absent or says 0 seconds.
bool retry_after_allows_retry(const std::string_view* retry_after);

} // namespace lacquer::origin
