// Foreground revalidation (RFC 9111 §4.3.1, §4.3.3, §4.3.4, §3.2) and the directives that forbid
// serving stale (§5.2.2.2 must-revalidate, §5.2.2.4 no-cache, §5.2.2.8 proxy-revalidate,
// §5.2.2.10 s-maxage), in a whole server on a manual clock. The scripted origin checks the
// conditional request it receives; the client checks the answer it gets.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;

// No stale window of the route's own: an expired object is revalidated before it is used.
constexpr std::string_view kRoutes = R"(routes:
  - name: strict
    match: { path_prefix: /r/ }
    cache: { key_params: all, ttl: 60s, stale: 0s, stale_if_error: 0s }
  - name: lenient
    match: { path_prefix: /l/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
)";

constexpr std::string_view kRevalidated = "lacquer; fwd=stale; fwd-status=304; stored";
constexpr std::string_view kLastModified = "Sun, 06 Nov 1994 08:49:37 GMT";

// The first request gets version 1; afterwards a request that names "v1" gets a 304 carrying
// `not_modified_headers`; any other request gets a 200 "body v2".
OriginHandler versioned(HeaderFields first_headers, HeaderFields not_modified_headers) {
    return [first_headers = std::move(first_headers),
            not_modified_headers = std::move(not_modified_headers)](OriginExchange& x) {
        if (x.request().header("If-None-Match") == "\"v1\"") {
            x.respond(304, not_modified_headers);
            return;
        }
        if (!x.request().has_header("If-None-Match") &&
            !x.request().has_header("If-Modified-Since")) {
            x.respond(200, first_headers, "body v1");
            return;
        }
        x.respond(200, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v2\""}}, "body v2");
    };
}

TEST(Revalidation, Rfc9111Section4_3_1ExpiredObjectIsAskedWithItsValidators) {
    ScriptedOrigin origin;
    origin.on_get("/r/doc", versioned({{"Cache-Control", "max-age=60"},
                                       {"ETag", "\"v1\""},
                                       {"Last-Modified", std::string(kLastModified)},
                                       {"X-Version", "1"},
                                       {"Content-Type", "text/plain"}},
                                      {{"Cache-Control", "max-age=120"}, {"X-Version", "2"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/r/doc").header("Cache-Status"), kStored);

    proxy.advance(61s);
    const Response revalidated = proxy.get("/r/doc");
    ASSERT_EQ(origin.total_requests(), 2u);
    const ReceivedRequest conditional = origin.requests().back();
    EXPECT_EQ(conditional.header("If-None-Match"), "\"v1\"");
    EXPECT_EQ(conditional.header("If-Modified-Since"), kLastModified);
    // §4.3.4 and §3.2: the stored body, the 304's fields, the stored fields it did not resend.
    EXPECT_EQ(revalidated.status, 200) << revalidated.summary();
    EXPECT_EQ(revalidated.body, "body v1");
    EXPECT_EQ(revalidated.header("X-Version"), "2");
    EXPECT_EQ(revalidated.header("Content-Type"), "text/plain");
    EXPECT_EQ(revalidated.header("ETag"), "\"v1\"");
    EXPECT_EQ(revalidated.header("Content-Length"), "7");
    EXPECT_EQ(revalidated.header("Cache-Status"), kRevalidated);
    EXPECT_EQ(age_of(revalidated), 0);

    // The 304's max-age=120 is the object's freshness now.
    proxy.advance(100s);
    const Response hit = proxy.get("/r/doc");
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, "body v1");
    EXPECT_EQ(hit.header("X-Version"), "2");
    EXPECT_EQ(origin.total_requests(), 2u);
    EXPECT_TRUE(
        proxy.wait_for_metric("lacquer_requests_total", 1, 5s, R"(cache_status="revalidated")"));
}

TEST(Revalidation, Rfc9111Section3_2ContentLengthOfA304IsNotStored) {
    ScriptedOrigin origin;
    origin.on_get("/r/length",
                  versioned({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}},
                            {{"Cache-Control", "max-age=60"}, {"Content-Length", "999"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/r/length").body, "body v1");
    proxy.advance(61s);
    const Response revalidated = proxy.get("/r/length");
    EXPECT_EQ(revalidated.header("Content-Length"), "7") << revalidated.summary();
    EXPECT_EQ(revalidated.body, "body v1");
    const Response hit = proxy.get("/r/length");
    EXPECT_EQ(hit.header("Content-Length"), "7") << hit.summary();
    EXPECT_EQ(hit.body, "body v1");
}

TEST(Revalidation, Rfc9111Section4_3_1TheVaryDHeadersGoWithTheConditionalRequest) {
    ScriptedOrigin origin;
    origin.on_get("/r/varied", versioned({{"Cache-Control", "max-age=60"},
                                          {"ETag", "\"v1\""},
                                          {"Vary", "Accept-Encoding"}},
                                         {{"Cache-Control", "max-age=60"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const HeaderFields gzip{{"Accept-Encoding", "gzip"}};
    EXPECT_EQ(proxy.get("/r/varied", gzip).header("Cache-Status"), kStored);
    proxy.advance(61s);
    const Response revalidated = proxy.get("/r/varied", gzip);
    EXPECT_EQ(revalidated.header("Cache-Status"), kRevalidated) << revalidated.summary();
    EXPECT_EQ(revalidated.body, "body v1");
    const ReceivedRequest conditional = origin.requests().back();
    EXPECT_EQ(conditional.header("If-None-Match"), "\"v1\"");
    EXPECT_EQ(conditional.header("Accept-Encoding"), "gzip");
}

TEST(Revalidation, Rfc9111Section4_3_3AFullAnswerReplacesTheObject) {
    ScriptedOrigin origin;
    auto calls = std::make_shared<std::atomic<int>>(0);
    origin.on_get("/r/changed", [calls](OriginExchange& x) {
        const int n = ++*calls;
        x.respond(200,
                  {{"Cache-Control", "max-age=60"}, {"ETag", "\"v" + std::to_string(n) + "\""}},
                  "body v" + std::to_string(n));
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/r/changed").body, "body v1");
    proxy.advance(61s);
    const Response changed = proxy.get("/r/changed");
    EXPECT_EQ(origin.requests().back().header("If-None-Match"), "\"v1\"");
    EXPECT_EQ(changed.body, "body v2") << changed.summary();
    EXPECT_EQ(changed.header("Cache-Status"), kRefetchedAndStored);
    const Response hit = proxy.get("/r/changed");
    EXPECT_EQ(hit.body, "body v2");
    EXPECT_EQ(hit.header("ETag"), "\"v2\"");
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
}

TEST(Revalidation, Rfc9111Section4_3_4A304ForAnotherRepresentationUpdatesNothing) {
    ScriptedOrigin origin;
    auto calls = std::make_shared<std::atomic<int>>(0);
    origin.on_get("/r/other", [calls](OriginExchange& x) {
        if (++*calls == 1) {
            x.respond(200, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}}, "body v1");
        } else if (x.request().has_header("If-None-Match")) {
            x.respond(304, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v2\""}});
        } else {
            x.respond(200, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v2\""}}, "body v2");
        }
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/r/other").body, "body v1");
    proxy.advance(61s);
    // The 304 names "v2": the stored "body v1" is not relabelled; the whole answer is fetched.
    const Response answer = proxy.get("/r/other");
    EXPECT_EQ(answer.body, "body v2") << answer.summary();
    EXPECT_EQ(answer.header("ETag"), "\"v2\"");
    ASSERT_EQ(origin.total_requests(), 3u);
    EXPECT_EQ(origin.requests()[1].header("If-None-Match"), "\"v1\"");
    EXPECT_FALSE(origin.requests()[2].has_header("If-None-Match"));
    EXPECT_FALSE(origin.requests()[2].has_header("If-Modified-Since"));
    const Response hit = proxy.get("/r/other");
    EXPECT_EQ(hit.body, "body v2") << hit.summary();
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
}

TEST(Revalidation, Rfc9111Section5_2_2_4NoCacheIsRevalidatedBeforeEveryUseEvenFresh) {
    ScriptedOrigin origin;
    origin.on_get("/l/nocache",
                  versioned({{"Cache-Control", "no-cache, max-age=600"}, {"ETag", "\"v1\""}},
                            {{"Cache-Control", "no-cache, max-age=600"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/l/nocache").header("Cache-Status"), kStored);
    for (int i = 0; i < 2; ++i) {
        const Response again = proxy.get("/l/nocache"); // the clock has not moved
        EXPECT_EQ(again.body, "body v1") << again.summary();
        EXPECT_EQ(again.header("Cache-Status"), kRevalidated);
        EXPECT_EQ(origin.requests().back().header("If-None-Match"), "\"v1\"");
    }
    EXPECT_EQ(origin.total_requests(), 3u);
}

TEST(Revalidation, Rfc9110Section13_2_2AClientsConditionalGets304FromTheFreshenedObject) {
    ScriptedOrigin origin;
    origin.on_get("/r/cond", versioned({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}},
                                       {{"Cache-Control", "max-age=60"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const HeaderFields has_v1{{"If-None-Match", "\"v1\""}};
    // A fresh hit answers a client's conditional request itself.
    EXPECT_EQ(proxy.get("/r/cond").status, 200);
    const Response fresh = proxy.get("/r/cond", has_v1);
    EXPECT_EQ(fresh.status, 304) << fresh.summary();
    EXPECT_EQ(fresh.header("Cache-Status"), kHit);
    proxy.advance(61s);
    const Response revalidated = proxy.get("/r/cond", has_v1);
    EXPECT_EQ(revalidated.status, 304) << revalidated.summary();
    EXPECT_EQ(revalidated.header("Cache-Status"), kRevalidated);
    EXPECT_EQ(revalidated.body, "");
    EXPECT_EQ(origin.total_requests(), 2u);
}

TEST(Revalidation, Rfc9110Section13_2_2AConditionalMissIsAnswered304FromTheStoredObject) {
    ScriptedOrigin origin;
    origin.on_get("/r/miss", versioned({{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}},
                                       {{"Cache-Control", "max-age=60"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const Response miss = proxy.get("/r/miss", {{"If-None-Match", "\"v1\""}});
    EXPECT_EQ(miss.status, 304) << miss.summary();
    EXPECT_EQ(miss.header("Cache-Status"), kStored);
    ASSERT_EQ(origin.total_requests(), 1u);
    EXPECT_FALSE(origin.requests().back().has_header("If-None-Match")) << "a shared fetch";
    const Response other = proxy.get("/r/miss", {{"If-None-Match", "\"v0\""}});
    EXPECT_EQ(other.status, 200) << other.summary();
    EXPECT_EQ(other.body, "body v1");
    EXPECT_EQ(other.header("Cache-Status"), kHit);
    EXPECT_EQ(origin.total_requests(), 1u);
}

// Each directive forbids serving the object stale, even inside the route's stale windows and
// when the origin fails: the client gets the origin's error, not the stored answer.
TEST(Revalidation, Rfc9111Section5_2_2MustRevalidateNoCacheSMaxageAreNeverServedStale) {
    ScriptedOrigin origin;
    const std::pair<const char*, const char*> cases[] = {
        {"/l/must-revalidate", "max-age=1, must-revalidate"},   // §5.2.2.2
        {"/l/proxy-revalidate", "max-age=1, proxy-revalidate"}, // §5.2.2.8
        {"/l/s-maxage", "s-maxage=1"},                          // §5.2.2.10
        {"/l/no-cache", "no-cache, max-age=600"},               // §5.2.2.4
        {"/l/plain", "max-age=1"},                              // control: served stale
    };
    for (const auto& [path, cc] : cases) {
        origin.on_get(path, numbered(path, {{"Cache-Control", cc}, {"ETag", "\"v1\""}}));
    }
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    for (const auto& [path, cc] : cases) {
        EXPECT_EQ(proxy.get(path).header("Cache-Status"), kStored) << path;
    }
    proxy.advance(kPastStaleWindow);
    origin.clear_handlers();
    origin.on_any([](OriginExchange& x) { x.send(503, "origin overloaded"); });
    for (const auto& [path, cc] : cases) {
        const Response r = proxy.get(path);
        if (std::string_view(path) == "/l/plain") {
            EXPECT_EQ(r.status, 200) << path << ": " << r.summary();
            continue;
        }
        EXPECT_EQ(r.status, 503) << path << " (" << cc << ") was served stale: " << r.summary();
        EXPECT_EQ(origin.requests().back().header("If-None-Match"), "\"v1\"") << path;
    }
}

TEST(Revalidation, Rfc9111Section4_3_4RequestsWaitingOnTheKeyGetTheFreshenedObject) {
    Gate release;
    ScriptedOrigin origin;
    auto conditionals = std::make_shared<std::atomic<int>>(0);
    origin.on_get("/r/hot", [&release, conditionals](OriginExchange& x) {
        if (!x.request().has_header("If-None-Match")) {
            x.respond(200, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}}, "hot v1");
            return;
        }
        ++*conditionals;
        (void)release.wait_for(10s);
        x.respond(304, {{"Cache-Control", "max-age=60"}, {"X-Renewed", "yes"}});
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/r/hot").header("Cache-Status"), kStored);
    proxy.advance(61s);

    ConcurrentGets gets(proxy.port(), "/r/hot", 6);
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 5, 10s));
    release.open();
    std::size_t collapsed = 0;
    for (const Response& r : gets.collect(10s)) {
        EXPECT_EQ(r.status, 200) << r.summary();
        EXPECT_EQ(r.body, "hot v1");
        EXPECT_EQ(r.header("X-Renewed"), "yes");
        collapsed += r.header("Cache-Status") == "lacquer; fwd=stale; collapsed" ? 1 : 0;
    }
    EXPECT_EQ(collapsed, 5u) << "each waiter says it found the key stale";
    EXPECT_EQ(conditionals->load(), 1);
}

} // namespace
} // namespace lacquer::test
