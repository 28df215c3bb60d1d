#include "exchange.h"
#include "lacquer/cache/freshness.h"
#include "lacquer/http/cache_control.h"
#include "lacquer/http/head_parser.h"

#include <cstdio>
#include <ctime>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::cache {
namespace {

using namespace std::chrono_literals;

using test::Exchange;
using test::kNow;

TEST(Freshness, LifetimeComesFromSMaxAgeThenMaxAgeThenExpiresThenRouteTtl) {
    FreshnessPolicy route;
    route.ttl = 300s;
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60, s-maxage=30\r\n").decide(route).window.ttl,
              30s);
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\n").decide(route).window.ttl, 60s);
    EXPECT_EQ(Exchange("", "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                           "Expires: Tue, 14 Nov 2023 22:15:20 GMT\r\n")
                  .decide(route)
                  .window.ttl,
              120s);
    EXPECT_EQ(Exchange("", "").decide(route).window.ttl, 300s);
    route.override_ttl = true;
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\n").decide(route).window.ttl, 300s);
}

TEST(Freshness, AgeFromUpstreamCachesIsSubtracted) {
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\nAge: 45\r\n").decide().window.ttl, 15s);
}

TEST(Freshness, WhatIsNeverStored) {
    struct Case {
        std::string req, resp;
        int status;
        StoreVerdict verdict;
    };
    const Case cases[] = {
        {"", "Cache-Control: no-store\r\n", 200, StoreVerdict::NoStore},
        {"Cache-Control: no-store\r\n", "Cache-Control: max-age=60\r\n", 200,
         StoreVerdict::NoStore},
        {"", "Cache-Control: private, max-age=60\r\n", 200, StoreVerdict::Private},
        {"", "Cache-Control: max-age=60\r\nSet-Cookie: s=1\r\n", 200, StoreVerdict::SetCookie},
        {"Authorization: Bearer x\r\n", "Cache-Control: max-age=60\r\n", 200,
         StoreVerdict::Authorization},
        {"", "Cache-Control: max-age=60\r\nVary: *\r\n", 200, StoreVerdict::VaryStar},
        {"", "", 500, StoreVerdict::Status}, // RFC 9111 §3: a 5xx needs explicit freshness
        {"", "Cache-Control: max-age=60\r\n", 206, StoreVerdict::Status},
        {"", "", 302, StoreVerdict::Status}, // not cacheable by default, no explicit freshness
        {"", "", 200, StoreVerdict::NoFreshness},
        {"", "Cache-Control: max-age=0, must-revalidate\r\n", 200, StoreVerdict::NoFreshness},
    };
    for (const Case& c : cases) {
        FreshnessPolicy p;
        EXPECT_EQ(Exchange(c.req, c.resp, c.status).decide(p).verdict, c.verdict)
            << c.req << c.resp;
    }
    EXPECT_EQ(Exchange("", "Cache-Control: max-age=60\r\n", 200, "HEAD").decide().verdict,
              StoreVerdict::Method);
}

TEST(Freshness, AuthorizationIsStoredWhenTheOriginSaysPublic) {
    EXPECT_TRUE(Exchange("Authorization: x\r\n", "Cache-Control: public, max-age=5\r\n")
                    .decide()
                    .storable());
}

TEST(Freshness, HeuristicNeedsLastModifiedAndIsTenPercent) {
    FreshnessPolicy p;
    p.heuristic = true;
    const auto d = Exchange("", "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                                "Last-Modified: Tue, 14 Nov 2023 22:03:20 GMT\r\n")
                       .decide(p);
    ASSERT_TRUE(d.storable());
    EXPECT_EQ(d.window.ttl, 60s);
}

TEST(Freshness, OriginMayShortenStaleWindowsButNeverLengthenThem) {
    FreshnessPolicy p; // stale 10m, stale_if_error 15m
    auto w =
        Exchange("",
                 "Cache-Control: max-age=1, stale-while-revalidate=30, stale-if-error=99999\r\n")
            .decide(p)
            .window;
    EXPECT_EQ(w.stale, 30s);
    EXPECT_EQ(w.stale_if_error, 15min);
    EXPECT_EQ(w.hard_bound(), 1s + 15min);
}

TEST(Freshness, NoCacheIsStoredButAlwaysRevalidated) {
    const auto d = Exchange("", "Cache-Control: no-cache, max-age=60\r\nETag: \"v1\"\r\n").decide();
    ASSERT_TRUE(d.storable());
    EXPECT_TRUE(d.window.must_revalidate);
    EXPECT_NE(classify(d.window, 1s, OriginHealth::Up), Usability::Fresh);
}

TEST(Freshness, NeverServedPastTheHardBoundEvenWhenTheOriginIsDown) {
    FreshnessWindow w;
    w.ttl = 60s;
    w.stale = 10min;
    w.stale_if_error = 15min;
    const core::Millis bound = 60s + 15min;
    EXPECT_EQ(classify(w, 59s, OriginHealth::Down), Usability::Fresh);
    EXPECT_EQ(classify(w, 61s, OriginHealth::Up), Usability::StaleRefresh);
    EXPECT_EQ(classify(w, 60s + 10min, OriginHealth::Up), Usability::Unusable);
    EXPECT_EQ(classify(w, bound - 1ms, OriginHealth::Down), Usability::StaleIfError);
    EXPECT_EQ(classify(w, bound, OriginHealth::Down), Usability::Unusable);
}

TEST(HttpDate, ParsesTheThreeFormsAndRejectsGarbage) {
    EXPECT_EQ(http::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(http::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(http::parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_FALSE(http::parse_http_date("yesterday"));
    EXPECT_FALSE(http::parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
    EXPECT_FALSE(http::parse_http_date(std::string(200, 'x')));
    char buf[32];
    EXPECT_EQ(std::string(buf, http::format_http_date(784111777, buf)),
              "Sun, 06 Nov 1994 08:49:37 GMT");
}

// format_http_date computes the calendar itself (gmtime_r takes glibc's time-zone lock): it
// must agree with gmtime_r over the whole range a stored object's date can take, leap days,
// century years and month ends included.
TEST(HttpDate, FormatAgreesWithGmtimeFrom1970To2106) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::vector<std::int64_t> times = {0,          86399,      86400,      951782400,
                                       951868799,  951868800,  4107542399, 4107542400,
                                       4294967295, 1700000000, 68169600};
    for (std::int64_t t = 1; t < 0xffffffffLL; t += 999'983) { // a prime step: every hour/day
        times.push_back(t);
    }
    for (const std::int64_t t : times) {
        const std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
        char want[64];
        std::snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                      tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
        char got[32];
        ASSERT_EQ(std::string(got, http::format_http_date(t, got)), want) << t;
        ASSERT_EQ(http::parse_http_date(want), t) << want;
    }
}

} // namespace
} // namespace lacquer::cache
