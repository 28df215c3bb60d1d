// Coalescing end to end: many clients, one origin request, held at the origin until every other
// client has joined it; an uncacheable answer sends the waiters to the origin together, not in
// a queue; the fetch outlives the client that caused it. Real lacquerd (two workers), scripted
// origin. The staleness window is in inproc_stale_window_test.cc (a manual clock).
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
)";

constexpr std::string_view kWaits = "lacquer_coalesced_waits_total";

TEST(Coalescing, TwoHundredClientsOneMissingKeyOneOriginRequest) {
    Gate release; // the one fetch stays at the origin until every other client waits for it
    ScriptedOrigin origin;
    const std::string body(20'000, 'z');
    origin.on_get("/c/hot", [&](OriginExchange& x) {
        (void)release.wait_for(10s);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, body);
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2).admin());
    ASSERT_TRUE(proxy.started());

    ConcurrentGets gets(proxy.port(), "/c/hot", 200);
    ASSERT_TRUE(proxy.wait_for_metric(kWaits, 199, 10s));
    const auto start = Clock::now();
    release.open();
    const std::vector<Response> all = gets.collect(10s);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::size_t complete = 0;
    std::size_t collapsed = 0;
    for (const Response& r : all) {
        complete += (r.complete && r.status == 200 && r.body == body) ? 1 : 0;
        collapsed += r.header("Cache-Status").find("collapsed") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(complete, 200u);
    EXPECT_EQ(origin.count("/c/hot"), 1u);
    EXPECT_EQ(collapsed, 199u); // every waiter says so
    EXPECT_LT(elapsed, 3s) << "every client waited for the one fetch, not for a queue";
    std::cout << "[figures] 200 concurrent misses: " << origin.count("/c/hot")
              << " origin request, " << collapsed << " collapsed, all answered " << elapsed.count()
              << " ms after the origin answered\n";
}

TEST(Coalescing, TenKeysFiftyClientsEachTenOriginRequests) {
    Gate release;
    ScriptedOrigin origin;
    origin.on_any([&](OriginExchange& x) {
        (void)release.wait_for(10s);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2).admin());
    ASSERT_TRUE(proxy.started());
    std::vector<std::unique_ptr<ConcurrentGets>> batches;
    for (int k = 0; k < 10; ++k) {
        batches.push_back(
            std::make_unique<ConcurrentGets>(proxy.port(), "/c/k" + std::to_string(k), 50));
    }
    ASSERT_TRUE(proxy.wait_for_metric(kWaits, 10 * 49, 10s)); // each key: one leads, 49 wait
    EXPECT_EQ(origin.total_requests(), 10u);
    release.open();
    for (int k = 0; k < 10; ++k) {
        for (const Response& r : batches[k]->collect(10s)) {
            ASSERT_TRUE(r.complete) << r.summary();
            EXPECT_EQ(r.body, "body of /c/k" + std::to_string(k));
        }
    }
    EXPECT_EQ(origin.total_requests(), 10u);
}

TEST(Coalescing, UncacheableKeyIsFetchedInParallelNotQueued) {
    Gate first_answer;
    Gate later_answers;
    ScriptedOrigin origin;
    std::atomic<int> calls{0};
    origin.on_get("/c/private", [&](OriginExchange& x) {
        (void)(++calls == 1 ? first_answer : later_answers).wait_for(10s);
        x.respond(200, {{"Cache-Control", "private"}}, "mine");
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2).admin());
    ASSERT_TRUE(proxy.started());
    ConcurrentGets gets(proxy.port(), "/c/private", 50);
    ASSERT_TRUE(proxy.wait_for_metric(kWaits, 49, 10s));
    first_answer.open();
    // The uncacheable answer releases the 49 waiters, and they all reach the origin while none
    // of them has been answered: fetched side by side, not one after another.
    ASSERT_TRUE(origin.wait_for_count("/c/private", 50, 10s));
    EXPECT_TRUE(later_answers.wait_for_waiters(49, 5s));
    later_answers.open();
    for (const Response& r : gets.collect(10s)) {
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "mine");
    }
    EXPECT_EQ(origin.count("/c/private"), 50u);
    // Later misses go straight to the origin (hit-for-miss), each on its own.
    const Response later = proxy.get("/c/private");
    EXPECT_EQ(later.header("Cache-Status"), not_stored("private"));
}

TEST(Coalescing, TheFetchOutlivesTheClientThatStartedIt) {
    ScriptedOrigin origin;
    Gate release;
    origin.on_get("/c/leader", [&](OriginExchange& x) {
        (void)release.wait_for(5s);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "finished without its client");
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2).admin());
    ASSERT_TRUE(proxy.started());
    {
        HttpClient leader;
        ASSERT_TRUE(leader.connect(proxy.port()));
        ASSERT_TRUE(leader.send_raw(build_request("GET", "/c/leader", kApiHost)));
        ASSERT_TRUE(origin.wait_for_count("/c/leader", 1, 5s));
    } // the leading client disconnects while its fetch is at the origin
    ConcurrentGets waiters(proxy.port(), "/c/leader", 20, kApiHost);
    ASSERT_TRUE(proxy.wait_for_metric(kWaits, 20, 5s)); // every one waits on the orphaned fetch
    release.open();
    for (const Response& r : waiters.collect(10s)) {
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "finished without its client");
    }
    EXPECT_EQ(proxy.get("/c/leader", kApiHost).header("Cache-Status"), kHit);
    EXPECT_EQ(origin.count("/c/leader"), 1u);
}

} // namespace
} // namespace lacquer::test
