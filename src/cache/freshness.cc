#include "lacquer/cache/freshness.h"

#include "lacquer/http/cache_control.h"
#include "lacquer/http/headers.h"

#include <algorithm>
#include <array>

namespace lacquer::cache {

namespace {

constexpr std::array kVerdictNames{
#define LACQUER_AS_NAME(name, text) std::string_view(text),
    LACQUER_NOT_STORED_REASONS(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
};

// Heuristically cacheable by default (RFC 9110 §15.1), less 206 (we store no ranges).
bool cacheable_by_default(int status) {
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return true;
    default:
        return false;
    }
}

core::Millis seconds(std::int64_t s) {
    return std::chrono::duration_cast<core::Millis>(Seconds(s));
}

} // namespace

std::int64_t origin_age(const http::HeaderList& headers) {
    const http::Header* age = headers.find("Age");
    if (age == nullptr) {
        return 0;
    }
    // RFC 9111 §5.1: a list-based Age uses its first member, the others are discarded.
    std::string_view first = age->value.substr(0, age->value.find(','));
    while (!first.empty() && (first.back() == ' ' || first.back() == '\t')) {
        first.remove_suffix(1);
    }
    if (first.empty()) {
        return 0;
    }
    std::int64_t n = 0;
    for (char c : first) {
        if (c < '0' || c > '9') {
            return 0;
        }
        n = std::min<std::int64_t>(n * 10 + (c - '0'), 2147483648LL);
    }
    return n;
}

std::int64_t corrected_initial_age(const http::HeaderList& headers, std::int64_t response_unix,
                                   core::Millis response_delay) {
    const http::Header* date_h = headers.find("Date");
    const auto date = date_h != nullptr ? http::parse_http_date(date_h->value) : std::nullopt;
    const std::int64_t apparent_age =
        date ? std::max<std::int64_t>(0, response_unix - *date) : std::int64_t{0};
    const std::int64_t delay =
        std::chrono::duration_cast<Seconds>(std::max(response_delay, core::Millis(0))).count();
    const std::int64_t corrected_age_value = origin_age(headers) + delay;
    return std::min<std::int64_t>(std::max(apparent_age, corrected_age_value), 2147483648LL);
}

std::string_view store_verdict_name(StoreVerdict verdict) {
    return kVerdictNames[static_cast<std::size_t>(verdict)];
}

StoreDecision decide_storage(const http::RequestHead& request, std::string_view fetch_method,
                             const http::ResponseHead& response, const FreshnessPolicy& policy,
                             std::int64_t now_unix, core::Millis response_delay) {
    StoreDecision d;
    auto refuse = [&](StoreVerdict v) {
        d.verdict = v;
        return d;
    };
    if (fetch_method != "GET") {
        return refuse(StoreVerdict::Method); // HEAD answers carry no body to keep
    }
    const http::CacheControl req_cc = http::parse_cache_control(request.headers);
    // RFC 9213 §2.2: a valid targeted field (CDN-Cache-Control, ...) replaces Cache-Control
    // and Expires for this cache.
    const std::optional<http::CacheControl> targeted =
        http::parse_targeted_cache_control(response.headers, policy.targeted_fields);
    const http::CacheControl cc =
        targeted ? *targeted : http::parse_cache_control(response.headers);
    const http::Header* expires = targeted ? nullptr : response.headers.find("Expires");
    if (cc.no_store || req_cc.no_store) {
        return refuse(StoreVerdict::NoStore);
    }
    if (cc.is_private) {
        return refuse(StoreVerdict::Private);
    }
    if (response.headers.find("Set-Cookie") != nullptr) {
        return refuse(StoreVerdict::SetCookie); // never share one client's cookie with another
    }
    // RFC 9111 §3.5: an answer to a request with credentials is shared only when it says so.
    d.window.reusable_with_authorization =
        cc.is_public || cc.s_maxage.has_value() || cc.must_revalidate_itself;
    if (request.headers.find("Authorization") != nullptr && !d.window.reusable_with_authorization) {
        return refuse(StoreVerdict::Authorization);
    }
    for (const http::Header& h : response.headers) {
        if (http::iequals(h.name, "Vary") && http::has_token(h.value, "*")) {
            return refuse(StoreVerdict::VaryStar);
        }
    }
    const int status = response.status;
    const bool explicit_freshness = cc.s_maxage || cc.max_age || expires != nullptr;
    // RFC 9111 §3: any final status with explicit freshness may be stored; a 5xx only with it
    // (never by override_ttl or a heuristic), and never when the route refuses 5xx.
    if (status < 200 || status == 206 || status == 304 ||
        (status >= 500 && (!explicit_freshness || policy.refuse_5xx)) ||
        (!cacheable_by_default(status) && !explicit_freshness && !policy.override_ttl)) {
        return refuse(StoreVerdict::Status);
    }

    // Freshness lifetime: override, s-maxage, max-age, Expires - Date, route ttl, heuristic.
    core::Millis lifetime{0};
    bool have_lifetime = false;
    // NOLINTNEXTLINE(bugprone-branch-clone): policy.ttl comes first (override) or after Expires
    if (policy.override_ttl) {
        lifetime = policy.ttl;
        have_lifetime = true;
    } else if (cc.s_maxage) {
        lifetime = seconds(*cc.s_maxage);
        have_lifetime = true;
    } else if (cc.max_age) {
        lifetime = seconds(*cc.max_age);
        have_lifetime = true;
    } else if (expires != nullptr) {
        const auto exp = http::parse_http_date(expires->value);
        const http::Header* date_h = response.headers.find("Date");
        const auto date = date_h != nullptr ? http::parse_http_date(date_h->value) : std::nullopt;
        // An invalid Expires means "already expired" (RFC 9111 §5.3).
        lifetime = exp ? seconds(std::max<std::int64_t>(0, *exp - date.value_or(now_unix)))
                       : core::Millis(0);
        have_lifetime = true;
    } else if (policy.ttl.count() > 0) {
        lifetime = policy.ttl;
        have_lifetime = true;
    } else if (policy.heuristic) {
        const http::Header* lm = response.headers.find("Last-Modified");
        const http::Header* date_h = response.headers.find("Date");
        const auto modified = lm != nullptr ? http::parse_http_date(lm->value) : std::nullopt;
        const auto date = date_h != nullptr ? http::parse_http_date(date_h->value) : std::nullopt;
        if (modified) {
            // 10% of the time since the last change, at most a day (RFC 9111 §4.2.2).
            const std::int64_t since =
                std::max<std::int64_t>(0, date.value_or(now_unix) - *modified);
            lifetime = seconds(std::min<std::int64_t>(since / 10, 86400));
            have_lifetime = true;
        }
    }
    if (!have_lifetime) {
        return refuse(StoreVerdict::NoFreshness);
    }
    d.initial_age = corrected_initial_age(response.headers, now_unix, response_delay);
    if (!policy.override_ttl) {
        lifetime -= seconds(d.initial_age); // RFC 9111 §4.2.3: its age when it came
    }
    if (lifetime.count() < 0) {
        lifetime = core::Millis(0);
    }

    FreshnessWindow& w = d.window;
    w.ttl = lifetime;
    w.stale = policy.stale;
    w.stale_if_error = policy.stale_if_error;
    // The origin's windows (RFC 5861) may shorten the route's, never lengthen them; where the
    // route has none (the default route) they may open one up to the hard bound.
    if (cc.stale_while_revalidate) {
        w.stale = std::min(std::max(policy.stale, policy.origin_stale_bound),
                           seconds(*cc.stale_while_revalidate));
    }
    if (cc.stale_if_error) {
        w.stale_if_error =
            std::min(std::max(policy.stale_if_error, policy.origin_stale_if_error_bound),
                     seconds(*cc.stale_if_error));
    }
    if (status >= 500) {
        // A stored error is never served stale, whatever window was opened (issue 19 item 4).
        w.stale = w.stale_if_error = core::Millis(0);
    }
    // Never served stale, not even when the origin fails: must-revalidate and proxy-revalidate
    // (RFC 9111 §5.2.2.2, §5.2.2.8), s-maxage, which implies proxy-revalidate (§5.2.2.10), and
    // no-cache, revalidated before every use (§5.2.2.4).
    if (cc.must_revalidate || cc.s_maxage || cc.no_cache) {
        w.stale = w.stale_if_error = core::Millis(0);
    }
    if (cc.no_cache) {
        w.ttl = core::Millis(0); // stored, but every use is revalidated first
        w.must_revalidate = true;
    }
    if (w.hard_bound().count() <= 0 && !w.must_revalidate) {
        return refuse(StoreVerdict::NoFreshness); // expired on arrival, no stale use allowed
    }
    return d;
}

Usability classify(const FreshnessWindow& window, core::Millis age, OriginHealth origin) {
    if (age < window.ttl && !window.must_revalidate) {
        return Usability::Fresh;
    }
    if (origin == OriginHealth::Down) {
        return age < window.ttl + window.stale_if_error ? Usability::StaleIfError
                                                        : Usability::Unusable;
    }
    return age < window.ttl + window.stale ? Usability::StaleRefresh : Usability::Unusable;
}

} // namespace lacquer::cache
