// HTTP caching by the letter (issue 19 items 1, 3, 4, 7, 8, 9), end to end: a whole server
// in-process on a manual clock, a scripted origin, and the answers the client gets. Each test
// names the section it holds Lacquer to.
#include "cache_test_support.h"
#include "lacquer/http/cache_control.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;

std::string http_date(std::int64_t unix) {
    char buf[32];
    return std::string(buf, http::format_http_date(unix, buf));
}

// Issue 19 item 1: the default route's own windows are 0; only RFC 5861's directives open one.
TEST(DefaultRouteRfc5861, AnExpiredAnswerIsServedStaleOnlyInsideTheOriginsWindow) {
    ScriptedOrigin origin;
    origin.on_get("/plain", numbered("plain", {{"Cache-Control", "max-age=1"}}));
    origin.on_get("/swr", numbered("swr", {{"Cache-Control", "max-age=1, "
                                                             "stale-while-revalidate=30"}}));
    InProcessLacquer proxy(caching_config(origin));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/plain").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/swr").header("Cache-Status"), kStored);
    proxy.advance(2s);
    const Response plain = proxy.get("/plain");
    EXPECT_EQ(plain.body, "plain #2") << "served stale without the origin's leave";
    const Response swr = proxy.get("/swr");
    EXPECT_EQ(swr.body, "swr #1");
    EXPECT_EQ(swr.header("Cache-Status"), "lacquer; hit; fwd=stale");
    ASSERT_TRUE(origin.wait_for_count("/swr", 2, 5s)); // the background refresh
}

constexpr std::string_view kTargetedRoutes = R"(routes:
  - name: own
    match: { path_prefix: /own/ }
    cache:
      key_params: all
      targeted_cache_control: [Lacquer-Cache-Control, CDN-Cache-Control]
      remove_targeted_cache_control: true
  - name: cdn
    match: { path_prefix: /cdn/ }
    cache: { key_params: all, stale: 0s }
)";

TEST(Rfc9213, ATargetedFieldOutranksCacheControlAndIsRemovedOnlyWhenTheRouteSaysSo) {
    ScriptedOrigin origin;
    const HeaderFields fields{{"Cache-Control", "no-store"},
                              {"Lacquer-Cache-Control", "max-age=60"},
                              {"CDN-Cache-Control", "max-age=5"}};
    origin.on_get("/own/x", numbered("own", fields));
    origin.on_get("/cdn/x", numbered("cdn", fields));
    origin.on_get("/cdn/invalid", numbered("invalid", {{"Cache-Control", "no-store"},
                                                       {"CDN-Cache-Control", "max-age=60,"}}));
    InProcessLacquer proxy(caching_config(origin, kTargetedRoutes));
    ASSERT_TRUE(proxy.started());
    for (const std::string_view status : {kStored, kHit}) {
        const Response own = proxy.get("/own/x");
        EXPECT_EQ(own.header("Cache-Status"), status) << own.summary();
        EXPECT_EQ(own.body, "own #1");
        EXPECT_EQ(own.header("Cache-Control"), "no-store"); // for the caches after us
        EXPECT_FALSE(own.has_header("Lacquer-Cache-Control"));
        EXPECT_FALSE(own.has_header("CDN-Cache-Control"));
        const Response cdn = proxy.get("/cdn/x");
        EXPECT_EQ(cdn.header("Cache-Status"), status) << cdn.summary();
        EXPECT_EQ(cdn.header("CDN-Cache-Control"), "max-age=5"); // kept by default
    }
    proxy.advance(6s); // the cdn route read CDN-Cache-Control (5 s), the own route its own (60 s)
    EXPECT_EQ(proxy.get("/cdn/x").body, "cdn #2");
    EXPECT_EQ(proxy.get("/own/x").body, "own #1");
    // An invalid targeted field is ignored whole (RFC 9213 §2.1, RFC 8941): no-store rules.
    EXPECT_EQ(proxy.get("/cdn/invalid").body, "invalid #1");
    EXPECT_EQ(proxy.get("/cdn/invalid").body, "invalid #2");
}

constexpr std::string_view kErrorRoutes = R"(routes:
  - name: errors
    match: { path_prefix: /e/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
  - name: refused
    match: { path_prefix: /r/ }
    cache: { key_params: all, refuse_5xx: true }
)";

// RFC 9111 §3: any final status with explicit freshness may be stored; a stored error is
// never served stale (issue 19 item 4).
TEST(Rfc9111Section3, A5xxWithExplicitFreshnessIsStoredAndNeverServedStale) {
    ScriptedOrigin origin;
    origin.on_get("/e/down", numbered("down", {{"Cache-Control", "max-age=10"}}, 503));
    origin.on_get("/e/bare", numbered("bare", {}, 503));
    origin.on_get("/r/down", numbered("refused", {{"Cache-Control", "max-age=10"}}, 503));
    InProcessLacquer proxy(caching_config(origin, kErrorRoutes));
    ASSERT_TRUE(proxy.started());
    for (const std::string_view status : {kStored, kHit}) {
        const Response r = proxy.get("/e/down");
        EXPECT_EQ(r.status, 503);
        EXPECT_EQ(r.header("Cache-Status"), status);
        EXPECT_EQ(r.body, "down #1");
    }
    proxy.advance(11s); // inside the route's stale window, but an error is never served stale
    const Response expired = proxy.get("/e/down");
    EXPECT_EQ(expired.body, "down #2") << expired.header("Cache-Status");
    EXPECT_EQ(proxy.get("/e/bare").body, "bare #1");
    EXPECT_EQ(proxy.get("/e/bare").body, "bare #2"); // without explicit freshness: not stored
    EXPECT_EQ(proxy.get("/r/down").body, "refused #1");
    EXPECT_EQ(proxy.get("/r/down").body, "refused #2"); // refuse_5xx: true
}

// RFC 9110 §6.6.1: an answer whose origin sent no Date gets one, from the proxy's clock; a
// stored one keeps the time it was received.
TEST(Rfc9110Section6_6_1, AnswersWithoutDateGetOne) {
    ScriptedOrigin origin;
    origin.on_get("/c/undated", numbered("undated", {{"Cache-Control", "max-age=600"}}));
    origin.on_get("/p/passed", numbered("passed"));
    InProcessLacquer proxy(caching_config(origin, R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
default_route: reject
)"));
    ASSERT_TRUE(proxy.started());
    const std::string received = http_date(proxy.clock().unix_seconds());
    const Response miss = proxy.get("/c/undated");
    EXPECT_EQ(miss.header("Date"), received);
    proxy.advance(7s);
    const Response hit = proxy.get("/c/undated");
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_EQ(hit.header("Date"), received) << "the Date of a stored answer is when it came";
    EXPECT_EQ(age_of(hit), 7);
    const std::string now = http_date(proxy.clock().unix_seconds());
    EXPECT_EQ(proxy.get("/p/passed").header("Date"), now);
    const Response synthetic = proxy.get("/nowhere"); // default_route: reject
    EXPECT_EQ(synthetic.status, 404);
    EXPECT_EQ(synthetic.header("Date"), now);
}

// RFC 9111 §4.2.3: the age of an answer counts the time since its Date (apparent_age) and the
// Age it came with (corrected_age_value), whichever is larger, plus its time in the cache.
TEST(Rfc9111Section4_2_3, AgeCountsTheApparentAgeAndTheResidentTime) {
    ScriptedOrigin origin;
    InProcessLacquer* server = nullptr;
    origin.on_get("/c/dated", [&server](OriginExchange& x) {
        x.respond(200,
                  {{"Date", http_date(server->clock().unix_seconds() - 100)},
                   {"Cache-Control", "max-age=120"}},
                  "dated");
    });
    // RFC 9111 §5.1: a list-valued Age uses its first member.
    origin.on_get("/c/listed",
                  numbered("listed", {{"Cache-Control", "max-age=100"}, {"Age", "30, 60"}}));
    InProcessLacquer proxy(caching_config(origin, "routes:\n  - match: { path_prefix: /c/ }\n"
                                                  "    cache: { key_params: all, stale: 0s }\n"));
    server = &proxy;
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/c/dated").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/c/listed").header("Cache-Status"), kStored);
    EXPECT_EQ(age_of(proxy.get("/c/dated")), 100);
    EXPECT_EQ(age_of(proxy.get("/c/listed")), 30);
    proxy.advance(15s);
    const Response dated = proxy.get("/c/dated");
    EXPECT_EQ(dated.header("Cache-Status"), kHit);
    EXPECT_EQ(age_of(dated), 115);
    EXPECT_EQ(age_of(proxy.get("/c/listed")), 45);
    proxy.advance(10s); // 125 s old: past max-age=120; the listed one is 55 s of 100
    EXPECT_EQ(proxy.get("/c/dated").header("Cache-Status"), kRefetchedAndStored);
    EXPECT_EQ(proxy.get("/c/listed").header("Cache-Status"), kHit);
    proxy.advance(46s); // 101 s: past max-age=100 counted from Age 30
    EXPECT_EQ(proxy.get("/c/listed").body, "listed #2");
}

// RFC 9111 §4.1: Vary'd values match after whitespace normalisation of their list members.
TEST(Rfc9111Section4_1, VariedValuesMatchWhateverTheSpacesAroundMembers) {
    ScriptedOrigin origin;
    origin.on_get("/c/varied", numbered("varied", {{"Cache-Control", "max-age=600"},
                                                   {"Vary", "Accept-Encoding"}}));
    InProcessLacquer proxy(caching_config(origin, "routes:\n  - match: { path_prefix: /c/ }\n"
                                                  "    cache: { key_params: all }\n"));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/c/varied", {{"Accept-Encoding", "gzip,deflate"}}).body, "varied #1");
    const Response same = proxy.get("/c/varied", {{"Accept-Encoding", "gzip,   deflate"}});
    EXPECT_EQ(same.header("Cache-Status"), kHit);
    EXPECT_EQ(same.body, "varied #1");
    EXPECT_EQ(proxy.get("/c/varied", {{"Accept-Encoding", "deflate"}}).body, "varied #2");
}

// RFC 9111 §3.5: with Authorization, a stored answer is reused only when it was marked public,
// s-maxage or must-revalidate; otherwise the request goes to the origin (issue 19 item 9).
TEST(Rfc9111Section3_5, AuthorizationReusesOnlyAnswersMarkedForIt) {
    ScriptedOrigin origin;
    origin.on_get("/public", numbered("public", {{"Cache-Control", "public, max-age=60"}}));
    origin.on_get("/revalidated",
                  numbered("revalidated", {{"Cache-Control", "max-age=60, must-revalidate"}}));
    origin.on_get("/plain", numbered("plain", {{"Cache-Control", "max-age=60"}}));
    InProcessLacquer proxy(caching_config(origin)); // the default route forwards Authorization
    ASSERT_TRUE(proxy.started());
    const HeaderFields auth{{"Authorization", "Bearer secret"}};
    for (const char* path : {"/public", "/revalidated", "/plain"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored) << path;
    }
    EXPECT_EQ(proxy.get("/public", auth).header("Cache-Status"), kHit);
    EXPECT_EQ(proxy.get("/revalidated", auth).header("Cache-Status"), kHit);
    const Response plain = proxy.get("/plain", auth);
    EXPECT_EQ(plain.body, "plain #2");
    EXPECT_EQ(plain.header("Cache-Status"), kBypass);
    ASSERT_TRUE(origin.last_request());
    EXPECT_EQ(origin.last_request()->header("Authorization"), "Bearer secret");
    EXPECT_EQ(proxy.get("/plain").body, "plain #1"); // the stored one stays for the others
}

// Issue 19 item 9: a Cookie the route never sends to the origin cannot change its answer, so
// the request is served from the cache; where the route forwards it, the request passes.
TEST(Rfc9111Section3_5, ACookieTheRouteDoesNotForwardIsServedFromTheCache) {
    ScriptedOrigin origin;
    origin.on_get("/c/item", numbered("item", {{"Cache-Control", "max-age=60"}}));
    origin.on_get("/d/item", numbered("default", {{"Cache-Control", "max-age=60"}}));
    InProcessLacquer proxy(caching_config(origin, "routes:\n  - match: { path_prefix: /c/ }\n"
                                                  "    cache: { key_params: all }\n"));
    ASSERT_TRUE(proxy.started());
    const HeaderFields cookie{{"Cookie", "session=abc"}};
    ASSERT_EQ(proxy.get("/c/item").header("Cache-Status"), kStored);
    const Response hit = proxy.get("/c/item", cookie);
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_EQ(hit.body, "item #1");
    ASSERT_EQ(proxy.get("/d/item").header("Cache-Status"), kStored);
    const Response passed = proxy.get("/d/item", cookie); // the default route forwards Cookie
    EXPECT_EQ(passed.header("Cache-Status"), kBypass);
    EXPECT_EQ(passed.body, "default #2");
}

} // namespace
} // namespace lacquer::test
