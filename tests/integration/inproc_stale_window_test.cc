// The staleness window in a whole server run in-process on a manual clock (STYLE.md §G, component
// tests): stale answers while one conditional refresh is held at the origin, and stale-if-error
// up to the hard bound, to the millisecond, then the origin's error. The test moves the time;
// sockets, two workers and the scripted origin are real.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;

constexpr std::string_view kRoutes = R"(routes:
  - name: short
    match: { path_prefix: /s/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
  - name: bounded
    match: { path_prefix: /b/ }
    cache: { key_params: all, ttl: 60s, stale: 1s, stale_if_error: 2s }
)";

TEST(StaleWhileRefresh, ServedAtOnceAndOneConditionalRefreshReachesTheOrigin) {
    Gate refresh_held; // the refresh stays at the origin until the test lets it answer
    ScriptedOrigin origin;
    std::atomic<int> calls{0};
    origin.on_get("/s/item", [&](OriginExchange& x) {
        if (++calls == 1) {
            x.respond(200,
                      {{"Cache-Control", "max-age=1"},
                       {"ETag", "\"v1\""},
                       {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}},
                      "version 1");
            return;
        }
        (void)refresh_held.wait_for(10s);
        if (x.request().header("If-None-Match") == "\"v1\"") {
            x.respond(304, {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}, {"X-Seen", "2"}});
        } else {
            x.respond(200, {{"Cache-Control", "max-age=60"}}, "unconditional");
        }
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/s/item").header("Cache-Status"), kStored);
    proxy.advance(1100ms); // past max-age=1, well inside stale: 10m

    for (int i = 0; i < 10; ++i) {
        const Response r = proxy.get("/s/item");
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "version 1");
        EXPECT_THAT(r.header("Cache-Status"), HasSubstr("hit"));
    }
    // Every stale answer came while the one refresh was still held at the origin: none of them
    // waited for it.
    ASSERT_TRUE(origin.wait_for_count("/s/item", 2, 5s));
    // The origin counts a request before its handler runs: the handler reaches the gate soon.
    EXPECT_TRUE(eventually(5s, [&] { return refresh_held.waiting() == 1; }))
        << "the refresh is still at the origin";
    refresh_held.open();
    // The refresh carried the validator and got a 304: the object is fresh again, same body.
    // Nothing announces the moment the renewed object is in place but the answers themselves.
    Response renewed;
    const auto renewed_is_a_hit = [&] {
        renewed = proxy.get("/s/item");
        return renewed.header("Cache-Status") == kHit;
    };
    EXPECT_TRUE(eventually(5s, renewed_is_a_hit))
        << renewed.summary() << ", Cache-Status: " << renewed.header("Cache-Status");
    EXPECT_EQ(renewed.body, "version 1");
    // The 304's fields replaced the stored ones (RFC 9111 §3.2); the body stayed.
    EXPECT_EQ(renewed.header("Cache-Control"), "max-age=60");
    EXPECT_EQ(renewed.header("X-Seen"), "2");
    EXPECT_EQ(renewed.header("Content-Length"), "9");
    // The 304 sent no Date: it is dated when it arrived (RFC 9110 §6.6.1), 1.1 s after the
    // manual clock's start, and that Date replaces the stored one (RFC 9111 §4.3.4).
    EXPECT_EQ(renewed.header("Date"), "Tue, 14 Nov 2023 22:13:21 GMT");
    EXPECT_EQ(origin.count("/s/item"), 2u); // exactly one refresh
    const auto requests = origin.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[1].header("If-None-Match"), "\"v1\"");
}

TEST(StaleIfError, OriginDownServesStaleUntilTheHardBoundThenTheError) {
    ScriptedOrigin origin;
    std::atomic<bool> down{false};
    origin.on_get("/b/item", [&](OriginExchange& x) {
        if (down) {
            x.respond(503, {}, "down");
        } else {
            x.respond(200, {{"Cache-Control", "max-age=1"}}, "last good");
        }
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/b/item").header("Cache-Status"), kStored);
    down = true;
    proxy.advance(2s); // max-age=1 + stale: 1s are over; inside stale_if_error: 2s
    const Response stale = proxy.get("/b/item");
    EXPECT_EQ(stale.status, 200);
    EXPECT_EQ(stale.body, "last good");
    EXPECT_EQ(stale.header("Cache-Status"), stale_on_error(503));
    proxy.advance(999ms); // the last millisecond inside max-age + stale_if_error
    const Response last = proxy.get("/b/item");
    EXPECT_EQ(last.status, 200);
    EXPECT_EQ(last.body, "last good");
    proxy.advance(1ms); // the hard bound
    const Response past = proxy.get("/b/item");
    EXPECT_EQ(past.status, 503);
    EXPECT_NE(past.body, "last good");
}

} // namespace
} // namespace lacquer::test
