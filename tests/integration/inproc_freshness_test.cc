// Expiry in a whole server run in-process on a manual clock (STYLE.md §G, component tests): the
// test moves the time past a TTL or a stale window instead of sleeping through it, to the
// millisecond. Sockets, workers, the scripted origin and the I/O timeouts are real; only the clock
// is not. The same server as lacquerd (server::Server), built from the same YAML.
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

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s, stale: 1s }
)";

TEST(InProcessLacquer, ServesOnItsPortAndItsClockIsTheObjectsAge) {
    ScriptedOrigin origin;
    origin.on_get("/c/aging", numbered("aging", {{"Cache-Control", "max-age=600"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    EXPECT_NE(proxy.port(), 0);
    EXPECT_NE(proxy.admin_port(), 0);
    EXPECT_EQ(proxy.worker_threads(), 2u);

    EXPECT_EQ(proxy.get("/c/aging").header("Cache-Status"), kStored);
    EXPECT_EQ(age_of(proxy.get("/c/aging")), 0); // the clock has not moved
    proxy.advance(5min);
    const Response later = proxy.get("/c/aging");
    EXPECT_EQ(later.header("Cache-Status"), kHit) << later.summary();
    EXPECT_EQ(later.body, "aging #1");
    EXPECT_EQ(age_of(later), 300) << "Age: '" << later.header("Age") << "'";
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_requests_total", 3, 5s));
}

TEST(CacheFreshness, MaxAgeOneIsAHitThenRefetchedAfterExpiry) {
    ScriptedOrigin origin;
    origin.on_get("/c/short", numbered("short", {{"Cache-Control", "max-age=1"}}));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/c/short").header("Cache-Status"), kStored);
    Response hit = proxy.get("/c/short");
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, "short #1");

    proxy.advance(kPastStaleWindow); // max-age=1 + stale: 1s are over
    Response refetched = proxy.get("/c/short");
    ASSERT_TRUE(refetched.complete) << refetched.summary();
    EXPECT_EQ(refetched.body, "short #2");
    EXPECT_EQ(refetched.header("Cache-Status"), kRefetchedAndStored);
    Response hit_again = proxy.get("/c/short");
    EXPECT_EQ(hit_again.body, "short #2") << hit_again.summary();
    EXPECT_EQ(hit_again.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/c/short"), 2u);
}

TEST(CacheFreshness, OverrideTtlIgnoresTheOriginsMaxAgeBothWays) {
    ScriptedOrigin origin;
    origin.on_get("/ov/shortened", numbered("shortened", {{"Cache-Control", "max-age=3600"}}));
    origin.on_get("/ov/lengthened", numbered("lengthened", {{"Cache-Control", "max-age=1"}}));
    InProcessLacquer proxy(caching_config(origin, R"(routes:
  - name: shortened
    match: { path_prefix: /ov/shortened }
    cache: { key_params: all, ttl: 1s, override_ttl: true, stale: 1s }
  - name: lengthened
    match: { path_prefix: /ov/lengthened }
    cache: { key_params: all, ttl: 60s, override_ttl: true, stale: 1s }
)"));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/ov/shortened").header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/ov/lengthened").header("Cache-Status"), kStored);
    proxy.advance(kPastStaleWindow); // past ttl 1s + stale 1s, and past max-age=1

    Response shortened = proxy.get("/ov/shortened");
    EXPECT_EQ(shortened.body, "shortened #2") << shortened.summary();
    EXPECT_EQ(shortened.header("Cache-Status"), kRefetchedAndStored);
    Response lengthened = proxy.get("/ov/lengthened");
    EXPECT_EQ(lengthened.body, "lengthened #1") << lengthened.summary();
    EXPECT_EQ(lengthened.header("Cache-Status"), kHit);
    EXPECT_EQ(age_of(lengthened), 2) << "Age: '" << lengthened.header("Age") << "'";
}

// Three objects expire together; then the origin answers 503, then is too slow, then is gone.
// Each time the client gets the stale object and Cache-Status names the failure. The slow
// origin meets a real first_byte_timeout: timers run in real time, only ages follow the clock.
TEST(CacheStaleIfError, OriginFailuresServeTheStaleObject) {
    Gate never;
    ScriptedOrigin origin;
    const HeaderFields short_lived = {{"Cache-Control", "max-age=1"}};
    origin.on_get("/sie/busy", numbered("busy", short_lived));
    origin.on_get("/sie/slow", numbered("slow", short_lived));
    origin.on_get("/sie/gone", numbered("gone", short_lived));
    InProcessLacquer proxy(caching_config(origin, R"(routes:
  - name: sie
    match: { path_prefix: /sie/ }
    cache: { key_params: all, ttl: 60s, stale: 1s, stale_if_error: 15m }
)")
                               .origin_setting("first_byte_timeout: 300ms"));
    ASSERT_TRUE(proxy.started());
    for (const char* path : {"/sie/busy", "/sie/slow", "/sie/gone"}) {
        EXPECT_EQ(proxy.get(path).header("Cache-Status"), kStored) << path;
    }
    proxy.advance(kPastStaleWindow); // past max-age=1 + stale: 1s

    origin.on_get("/sie/busy", [](OriginExchange& x) { x.send(503, "origin overloaded"); });
    Response busy = proxy.get("/sie/busy");
    EXPECT_EQ(busy.status, 200) << busy.summary();
    EXPECT_EQ(busy.body, "busy #1");
    EXPECT_EQ(busy.header("Cache-Status"), stale_on_error(503));
    EXPECT_EQ(fetches(origin, "/sie/busy"), 2u);

    origin.on_get("/sie/slow", [&never](OriginExchange& x) {
        (void)never.wait_for(5s);
        x.send(200, "too late");
    });
    Response slow = proxy.get("/sie/slow", {}, 5s);
    EXPECT_EQ(slow.status, 200) << slow.summary();
    EXPECT_EQ(slow.body, "slow #1");
    EXPECT_EQ(slow.header("Cache-Status"), stale_on_error(504));
    never.open();

    origin.stop(); // connections are refused from now on
    Response gone = proxy.get("/sie/gone");
    EXPECT_EQ(gone.status, 200) << gone.summary();
    EXPECT_EQ(gone.body, "gone #1");
    EXPECT_EQ(gone.header("Cache-Status"), stale_on_error(502));
}

} // namespace
} // namespace lacquer::test
