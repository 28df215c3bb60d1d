// Coalescing and the staleness window end to end: many clients, one origin request; the fetch
// outlives the client that caused it; stale answers while one refresh revalidates; stale if the
// origin fails, never past the hard bound. Real lacquerd (two workers), scripted origin.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: short
    match: { path_prefix: /s/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
  - name: bounded
    match: { path_prefix: /b/ }
    cache: { key_params: all, ttl: 60s, stale: 1s, stale_if_error: 2s }
)";

TEST(Coalescing, TwoHundredClientsOneMissingKeyOneOriginRequest) {
    ScriptedOrigin origin;
    const std::string body(20'000, 'z');
    origin.on_get("/c/hot", [&](OriginExchange& x) {
        x.sleep_for(500ms);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, body);
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());

    const auto start = Clock::now();
    ConcurrentGets gets(proxy.port(), "/c/hot", 200);
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
    EXPECT_GT(collapsed, 0u); // the waiters say so (the rest came after the object was stored)
    EXPECT_LT(elapsed, 3s) << "every client waited for the one fetch, not for a queue";
    std::cout << "[figures] 200 concurrent misses: " << origin.count("/c/hot")
              << " origin request, " << collapsed << " collapsed, all done in " << elapsed.count()
              << " ms\n";
}

TEST(Coalescing, TenKeysFiftyClientsEachTenOriginRequests) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.sleep_for(200ms);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    std::vector<std::unique_ptr<ConcurrentGets>> batches;
    for (int k = 0; k < 10; ++k) {
        batches.push_back(
            std::make_unique<ConcurrentGets>(proxy.port(), "/c/k" + std::to_string(k), 50));
    }
    for (int k = 0; k < 10; ++k) {
        for (const Response& r : batches[k]->collect(10s)) {
            ASSERT_TRUE(r.complete) << r.summary();
            EXPECT_EQ(r.body, "body of /c/k" + std::to_string(k));
        }
    }
    EXPECT_EQ(origin.total_requests(), 10u);
}

TEST(Coalescing, UncacheableKeyIsFetchedInParallelNotQueued) {
    ScriptedOrigin origin;
    origin.on_get("/c/private", [](OriginExchange& x) {
        x.sleep_for(300ms);
        x.respond(200, {{"Cache-Control", "private"}}, "mine");
    });
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    const auto start = Clock::now();
    ConcurrentGets gets(proxy.port(), "/c/private", 50);
    for (const Response& r : gets.collect(10s)) {
        ASSERT_TRUE(r.complete) << r.summary();
    }
    const auto elapsed = Clock::now() - start;
    // One latency for the first answer, one more for the released waiters: not fifty.
    EXPECT_LT(elapsed, 2s);
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
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    {
        HttpClient leader;
        ASSERT_TRUE(leader.connect(proxy.port()));
        ASSERT_TRUE(leader.send_raw(build_request("GET", "/c/leader", kApiHost)));
        ASSERT_TRUE(origin.wait_for_count("/c/leader", 1, 5s));
    } // the leading client disconnects while its fetch is at the origin
    ConcurrentGets waiters(proxy.port(), "/c/leader", 20, kApiHost);
    ASSERT_TRUE(waiters.wait_all_sent(5s));
    std::this_thread::sleep_for(100ms); // lets the waiters reach lacquerd; not a synchronisation
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
