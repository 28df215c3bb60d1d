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
    std::int64_t n = 0;
    for (char c : age->value) {
        if (c < '0' || c > '9') {
            return 0;
        }
        n = std::min<std::int64_t>(n * 10 + (c - '0'), 2147483648LL);
    }
    return n;
}

std::string_view store_verdict_name(StoreVerdict verdict) {
    return kVerdictNames[static_cast<std::size_t>(verdict)];
}

StoreDecision decide_storage(const http::RequestHead& request, std::string_view fetch_method,
                             const http::ResponseHead& response, const FreshnessPolicy& policy,
                             std::int64_t now_unix) {
    StoreDecision d;
    auto refuse = [&](StoreVerdict v) {
        d.verdict = v;
        return d;
    };
    if (fetch_method != "GET") {
        return refuse(StoreVerdict::Method); // HEAD answers carry no body to keep
    }
    const http::CacheControl req_cc = http::parse_cache_control(request.headers);
    const http::CacheControl cc = http::parse_cache_control(response.headers);
    if (cc.no_store || req_cc.no_store) {
        return refuse(StoreVerdict::NoStore);
    }
    if (cc.is_private) {
        return refuse(StoreVerdict::Private);
    }
    if (response.headers.find("Set-Cookie") != nullptr) {
        return refuse(StoreVerdict::SetCookie); // never share one client's cookie with another
    }
    if (request.headers.find("Authorization") != nullptr && !cc.is_public && !cc.s_maxage) {
        return refuse(StoreVerdict::Authorization); // RFC 9111 §3.5
    }
    for (const http::Header& h : response.headers) {
        if (http::iequals(h.name, "Vary") && http::has_token(h.value, "*")) {
            return refuse(StoreVerdict::VaryStar);
        }
    }
    const int status = response.status;
    const bool explicit_freshness = cc.s_maxage || cc.max_age || response.headers.find("Expires");
    if (status < 200 || status == 206 || status == 304 || status >= 500 ||
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
    } else if (const http::Header* expires = response.headers.find("Expires")) {
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
    if (!policy.override_ttl) {
        lifetime -= seconds(origin_age(response.headers)); // time it already spent in caches
    }
    if (lifetime.count() < 0) {
        lifetime = core::Millis(0);
    }

    FreshnessWindow& w = d.window;
    w.ttl = lifetime;
    w.stale = policy.stale;
    w.stale_if_error = policy.stale_if_error;
    // The origin may shorten the stale windows, never lengthen them.
    if (cc.stale_while_revalidate) {
        w.stale = std::min(w.stale, seconds(*cc.stale_while_revalidate));
    }
    if (cc.stale_if_error) {
        w.stale_if_error = std::min(w.stale_if_error, seconds(*cc.stale_if_error));
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
