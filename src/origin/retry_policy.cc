#include "lacquer/origin/retry_policy.h"

#include <array>

namespace lacquer::origin {

namespace {
constexpr std::array kReasonNames{
#define LACQUER_AS_NAME(name, label) std::string_view(label),
    LACQUER_RETRY_REASONS(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
};
static_assert(kReasonNames.size() == kRetryReasonCount);

constexpr std::array kVerdictNames{
#define LACQUER_AS_NAME(name) std::string_view(#name),
    LACQUER_RETRY_VERDICTS(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
};
} // namespace

std::string_view retry_reason_name(RetryReason reason) {
    return kReasonNames[static_cast<std::size_t>(reason)];
}

std::string_view retry_verdict_name(RetryVerdict verdict) {
    return kVerdictNames[static_cast<std::size_t>(verdict)];
}

RetryVerdict decide_retry(const FailedAttempt& attempt, const RetryRules& rules) {
    switch (attempt.reason) {
    case RetryReason::ConnectFailed:
    case RetryReason::ConnectTimeout:
        break; // nothing reached the origin: safe for every method
    case RetryReason::StaleConnection:
        // The origin closed the idle connection before it read the request.
        return attempt.stale_retry_done ? RetryVerdict::Exhausted : RetryVerdict::Retry;
    case RetryReason::Unavailable:
        if (!rules.on_503) {
            return RetryVerdict::NotAsked;
        }
        [[fallthrough]];
    case RetryReason::Closed:
        // The request went out on a fresh connection: the origin may have acted on it.
        if (!attempt.idempotent && !rules.non_idempotent) {
            return RetryVerdict::Unsafe;
        }
        break;
    }
    return attempt.retries_done < rules.retries ? RetryVerdict::Retry : RetryVerdict::Exhausted;
}

bool is_idempotent(std::string_view method) {
    for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        if (method == m) {
            return true;
        }
    }
    return false;
}

bool retry_after_allows_retry(const std::string_view* retry_after) {
    if (retry_after == nullptr) {
        return true;
    }
    std::string_view v = *retry_after;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    if (v.empty()) {
        return true; // an empty field says nothing
    }
    for (char c : v) {
        if (c != '0') {
            return false; // a delay, or an HTTP-date: the origin asked to wait
        }
    }
    return true;
}

} // namespace lacquer::origin
