// Storage and freshness decisions by the letter (issue 19), on a manual clock: the response
// comes at clock.unix_seconds(), ages are the clock's steps. Each test names its section.
#include "exchange.h"
#include "lacquer/cache/freshness.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/cache_control.h"
#include "lacquer/http/head_parser.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::cache {
namespace {

using namespace std::chrono_literals;

// The decisions as the response comes at the clock's time.
struct Exchange : test::Exchange {
    using test::Exchange::Exchange;
    StoreDecision decide(const core::ManualClock& clock, const FreshnessPolicy& policy = {},
                         core::Millis delay = 0ms) const {
        return test::Exchange::decide(policy, clock.unix_seconds(), delay);
    }
};

// The default route's policy as route_table compiles it (issue 19 item 1).
FreshnessPolicy default_route() {
    FreshnessPolicy p;
    p.ttl = 0ms;
    p.heuristic = true;
    p.stale = p.stale_if_error = 0ms;
    p.origin_stale_bound = p.origin_stale_if_error_bound = kOriginStaleBound;
    return p;
}

core::Millis since(const core::ManualClock& clock, core::Instant then) {
    return std::chrono::duration_cast<core::Millis>(clock.now() - then);
}

std::string date(std::int64_t unix) {
    char buf[32];
    return std::string(buf, http::format_http_date(unix, buf));
}

TEST(Rfc5861DefaultRoute, OnlyTheOriginOpensAStaleWindowUpToTheHardBound) {
    core::ManualClock clock;
    const Exchange plain("", "Cache-Control: max-age=60\r\n");
    const StoreDecision none = plain.decide(clock, default_route());
    ASSERT_TRUE(none.storable());
    EXPECT_EQ(none.window.stale, 0ms);
    EXPECT_EQ(none.window.stale_if_error, 0ms);
    const core::Instant stored = clock.now();
    clock.advance(61s); // expired: nothing may serve it without the origin
    EXPECT_EQ(classify(none.window, since(clock, stored), OriginHealth::Up), Usability::Unusable);
    EXPECT_EQ(classify(none.window, since(clock, stored), OriginHealth::Down), Usability::Unusable);

    const Exchange windows(
        "", "Cache-Control: max-age=60, stale-while-revalidate=30, stale-if-error=3600\r\n");
    const StoreDecision opened = windows.decide(clock, default_route());
    EXPECT_EQ(opened.window.stale, 30s);
    EXPECT_EQ(opened.window.stale_if_error, kOriginStaleBound); // 1 h capped at 15 min
    EXPECT_EQ(classify(opened.window, 89s, OriginHealth::Up), Usability::StaleRefresh);
    EXPECT_EQ(classify(opened.window, 91s, OriginHealth::Up), Usability::Unusable);
    EXPECT_EQ(classify(opened.window, 60s + 14min, OriginHealth::Down), Usability::StaleIfError);

    // A named route keeps its own windows: the origin may only shorten them.
    FreshnessPolicy named;
    named.stale = 10s;
    EXPECT_EQ(windows.decide(clock, named).window.stale, 10s);
}

TEST(Rfc9213Section2_1, TargetedFieldOutranksCacheControlAndExpires) {
    core::ManualClock clock;
    const std::string expired = "Expires: " + date(clock.unix_seconds() - 10) + "\r\n";
    const Exchange stored("",
                          "CDN-Cache-Control: max-age=60\r\nCache-Control: no-store\r\n" + expired);
    const StoreDecision d = stored.decide(clock);
    ASSERT_TRUE(d.storable());
    EXPECT_EQ(d.window.ttl, 60s);
    // Without a lifetime there, Expires does not count either: the route's ttl applies.
    FreshnessPolicy route;
    route.ttl = 5s;
    EXPECT_EQ(
        Exchange("", "CDN-Cache-Control: public\r\n" + expired).decide(clock, route).window.ttl,
        5s);
    EXPECT_EQ(Exchange("", "CDN-Cache-Control: no-store\r\nCache-Control: max-age=60\r\n")
                  .decide(clock)
                  .verdict,
              StoreVerdict::NoStore);
    EXPECT_EQ(Exchange("", "CDN-Cache-Control: private\r\nCache-Control: max-age=60\r\n")
                  .decide(clock)
                  .verdict,
              StoreVerdict::Private);
    const StoreDecision no_cache =
        Exchange("", "CDN-Cache-Control: no-cache, max-age=60\r\nCache-Control: max-age=60\r\n")
            .decide(clock);
    EXPECT_TRUE(no_cache.window.must_revalidate);
    EXPECT_EQ(
        Exchange("", "CDN-Cache-Control: max-age=60, s-maxage=20\r\n").decide(clock).window.ttl,
        20s);
    FreshnessPolicy windows;
    windows.stale = windows.stale_if_error = 10min;
    const StoreDecision stale =
        Exchange("", "CDN-Cache-Control: max-age=1, stale-while-revalidate=5, stale-if-error=7\r\n"
                     "Cache-Control: max-age=1, stale-while-revalidate=50, stale-if-error=70\r\n")
            .decide(clock, windows);
    EXPECT_EQ(stale.window.stale, 5s);
    EXPECT_EQ(stale.window.stale_if_error, 7s);
}

TEST(Rfc9213Section2_2, AnInvalidTargetedFieldIsIgnoredAndTheListIsTheRoutes) {
    core::ManualClock clock;
    // Not a Dictionary (upper-case key): Cache-Control decides.
    EXPECT_EQ(Exchange("", "CDN-Cache-Control: Max-Age=600\r\nCache-Control: max-age=60\r\n")
                  .decide(clock)
                  .window.ttl,
              60s);
    FreshnessPolicy own;
    own.targeted_fields = {"Lacquer-Cache-Control", "CDN-Cache-Control"};
    const Exchange both("", "Lacquer-Cache-Control: max-age=7\r\nCDN-Cache-Control: max-age=9\r\n"
                            "Cache-Control: max-age=60\r\n");
    EXPECT_EQ(both.decide(clock, own).window.ttl, 7s);
    FreshnessPolicy none;
    none.targeted_fields.clear(); // the route reads no targeted field: Cache-Control decides
    EXPECT_EQ(both.decide(clock, none).window.ttl, 60s);
}

TEST(Rfc9111Section3, A5xxWithExplicitFreshnessIsStoredButNeverServedStale) {
    core::ManualClock clock;
    FreshnessPolicy route; // stale 10m, stale_if_error 15m
    const Exchange fresh_error(
        "", "Cache-Control: max-age=60, stale-while-revalidate=60, stale-if-error=60\r\n", 503);
    const StoreDecision d = fresh_error.decide(clock, route);
    ASSERT_TRUE(d.storable());
    EXPECT_EQ(d.window.ttl, 60s);
    EXPECT_EQ(d.window.stale, 0ms);
    EXPECT_EQ(d.window.stale_if_error, 0ms);
    EXPECT_EQ(classify(d.window, 59s, OriginHealth::Up), Usability::Fresh);
    EXPECT_EQ(classify(d.window, 61s, OriginHealth::Up), Usability::Unusable);
    EXPECT_EQ(classify(d.window, 61s, OriginHealth::Down), Usability::Unusable);
    EXPECT_TRUE(Exchange("", "Expires: " + date(clock.unix_seconds() + 60) + "\r\n", 500)
                    .decide(clock, route)
                    .storable());
    // Without explicit freshness, or when the route refuses 5xx: not stored.
    EXPECT_EQ(Exchange("", "", 500).decide(clock, route).verdict, StoreVerdict::Status);
    route.override_ttl = true;
    EXPECT_EQ(Exchange("", "", 502).decide(clock, route).verdict, StoreVerdict::Status);
    route.override_ttl = false;
    route.refuse_5xx = true;
    EXPECT_EQ(fresh_error.decide(clock, route).verdict, StoreVerdict::Status);
    // Other statuses with explicit freshness: stored (RFC 9111 §3 "any final status").
    EXPECT_TRUE(Exchange("", "Cache-Control: max-age=60\r\n", 302).decide(clock).storable());
}

TEST(Rfc9111Section5_1, AListAgeUsesItsFirstMember) {
    core::ManualClock clock;
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\nAge: 10, 20\r\n").decide(clock).window.ttl,
              50s);
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\nAge: 10,20\r\n").decide(clock).window.ttl,
              50s);
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\nAge: 10\r\nAge: 30\r\n")
                  .decide(clock)
                  .initial_age,
              10);
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\nAge: x1\r\n").decide(clock).window.ttl,
              60s);
}

TEST(Rfc9111Section4_2_3, InitialAgeIsTheLargerOfApparentAgeAndCorrectedAgeValue) {
    core::ManualClock clock;
    const std::int64_t now = clock.unix_seconds();
    // apparent_age: the response says it was made 30 s ago.
    const StoreDecision dated =
        Exchange("", "Date: " + date(now - 30) + "\r\nCache-Control: max-age=60\r\n").decide(clock);
    EXPECT_EQ(dated.initial_age, 30);
    EXPECT_EQ(dated.window.ttl, 30s);
    // corrected_age_value: Age 10 plus a 5 s response_delay beats an apparent age of 2.
    const StoreDecision delayed =
        Exchange("", "Date: " + date(now - 2) + "\r\nAge: 10\r\nCache-Control: max-age=60\r\n")
            .decide(clock, {}, 5s);
    EXPECT_EQ(delayed.initial_age, 15);
    EXPECT_EQ(delayed.window.ttl, 45s);
    // A Date ahead of our clock is no negative age; an invalid one is none.
    EXPECT_EQ(Exchange("", "Date: " + date(now + 99) + "\r\nCache-Control: max-age=60\r\n")
                  .decide(clock)
                  .initial_age,
              0);
    EXPECT_EQ(
        Exchange("", "Date: yesterday\r\nCache-Control: max-age=60\r\n").decide(clock).initial_age,
        0);
    // current_age = corrected_initial_age + resident_time: fresh until 30 s of residence.
    const core::Instant stored = clock.now();
    clock.advance(29s);
    EXPECT_EQ(classify(dated.window, since(clock, stored), OriginHealth::Up), Usability::Fresh);
    clock.advance(2s);
    EXPECT_NE(classify(dated.window, since(clock, stored), OriginHealth::Up), Usability::Fresh);
}

TEST(Rfc9110Section5_6_7, AnExpiresNotByTheLetterMeansAlreadyExpired) {
    core::ManualClock clock;
    const std::int64_t now = clock.unix_seconds();
    std::string lower = date(now + 3600);
    lower.replace(lower.size() - 3, 3, "gmt");
    std::string spaced = date(now + 3600);
    spaced.insert(4, " ");
    EXPECT_EQ(Exchange("", "Expires: " + date(now + 3600) + "\r\n").decide(clock).window.ttl,
              3600s);
    for (const std::string& bad : {lower, spaced, std::string("0")}) {
        const StoreDecision d = Exchange("", "Expires: " + bad + "\r\n").decide(clock);
        EXPECT_EQ(d.window.ttl, 0ms) << bad; // RFC 9111 §5.3: a time in the past
    }
}

TEST(Rfc9111Section3_5, AuthorizationNeedsPublicSMaxageOrMustRevalidate) {
    core::ManualClock clock;
    const std::string auth = "Authorization: Bearer t\r\n";
    for (const char* marked :
         {"public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate"}) {
        const StoreDecision d =
            Exchange(auth, std::string("Cache-Control: ") + marked + "\r\n").decide(clock);
        EXPECT_TRUE(d.storable()) << marked;
        EXPECT_TRUE(d.window.reusable_with_authorization) << marked;
    }
    for (const char* unmarked : {"max-age=60", "max-age=60, proxy-revalidate"}) {
        EXPECT_EQ(Exchange(auth, std::string("Cache-Control: ") + unmarked + "\r\n")
                      .decide(clock)
                      .verdict,
                  StoreVerdict::Authorization)
            << unmarked;
        // Stored for requests without credentials, but not for reuse with them.
        const StoreDecision d =
            Exchange("", std::string("Cache-Control: ") + unmarked + "\r\n").decide(clock);
        EXPECT_TRUE(d.storable());
        EXPECT_FALSE(d.window.reusable_with_authorization) << unmarked;
    }
    // The targeted field's word counts (RFC 9213): public there, not in Cache-Control.
    EXPECT_TRUE(Exchange(auth, "CDN-Cache-Control: public, max-age=60\r\n"
                               "Cache-Control: max-age=60\r\n")
                    .decide(clock)
                    .storable());
}

} // namespace
} // namespace lacquer::cache
