// The admin listener and the counters behind /metrics: after a scripted sequence of requests
// every counter equals what was sent, exactly (waits are on the metric, never sleeps).
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;

Response admin_get(std::uint16_t port, std::string_view target) {
    HttpClient client;
    if (!client.connect(port)) {
        return {};
    }
    return client.get(target);
}

TEST(Metrics, CountersEqualTheRequestsSent) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
    });
    LacquerProcess proxy(caching_config(origin, kCachedPassedRejected).admin().workers(2));
    ASSERT_TRUE(proxy.started());
    const std::uint16_t admin = proxy.admin_port();
    ASSERT_NE(admin, 0);

    for (const char* path : {"/c/a", "/c/b", "/c/c"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored);
    }
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(proxy.get("/c/a").header("Cache-Status"), kHit);
    }
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(proxy.get("/p/x").header("Cache-Status"), kBypass);
    }
    ASSERT_EQ(proxy.get("/nowhere").status, 404);

    const auto exactly = [&](std::string_view name, std::string_view labels, double expected) {
        std::optional<double> seen;
        EXPECT_TRUE(wait_for_metric(admin, name, expected, 5s, labels, &seen))
            << name << "{" << labels << "} reached only " << seen.value_or(-1);
        EXPECT_EQ(scrape_metric(admin, name, labels), expected) << name << "{" << labels << "}";
    };
    exactly("lacquer_requests_total", R"(route="cached",cache_status="miss")", 3);
    exactly("lacquer_requests_total", R"(route="cached",cache_status="hit")", 5);
    exactly("lacquer_requests_total", R"(route="passed",cache_status="pass")", 2);
    exactly("lacquer_requests_total", R"(route="default",cache_status="synth")", 1);
    exactly("lacquer_requests_total", "", 11);
    exactly("lacquer_request_duration_seconds_count", R"(route="cached",cache_status="hit")", 5);
    exactly("lacquer_origin_requests_total", R"(origin="api")", 5);
    exactly("lacquer_origin_responses_total", R"(status_class="2xx")", 5);
    exactly("lacquer_store_objects", "", 3);
    exactly("lacquer_connections_accepted_total", "", 11);
    exactly("lacquer_origin_server_up", "", 1);
    exactly("lacquer_workers", "", 2);
    EXPECT_EQ(scrape_metric(admin, "lacquer_origin_errors_total"), 0);
    EXPECT_EQ(scrape_metric(admin, "lacquer_not_stored_total"), 0);
}

TEST(Metrics, NotStoredAndCoalescingCountersSayWhy) {
    ScriptedOrigin origin;
    origin.on_get("/c/private", [](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "private"}}, "mine");
    });
    LacquerProcess proxy(caching_config(origin, kCachedPassedRejected).admin());
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/c/private").header("Cache-Status"), not_stored("private"));
    EXPECT_EQ(proxy.get("/c/private").header("Cache-Status"), not_stored("private"));
    std::optional<double> seen;
    EXPECT_TRUE(wait_for_metric(proxy.admin_port(), "lacquer_not_stored_total", 2, 5s,
                                R"(reason="private")", &seen));
    // The second one went to the origin as hit-for-miss, not queued behind a leader.
    EXPECT_EQ(scrape_metric(proxy.admin_port(), "lacquer_hit_for_miss_total"), 1);
    EXPECT_EQ(scrape_metric(proxy.admin_port(), "lacquer_requests_total",
                            R"(cache_status="hit_for_miss")"),
              1);
}

TEST(Metrics, ReadyzSaysNotReadyWhileNoOriginServerAcceptsConnections) {
    // The only origin server is a port nobody listens on.
    LacquerProcess proxy(
        TestConfig().origin("127.0.0.1:1").admin().extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(admin_get(proxy.admin_port(), "/readyz").status, 200); // nothing known yet
    // outlier_detection.consecutive_failures (5) failed connects in a row: the only server of
    // the only pool is failing (never ejected: it is 100% of its pool).
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(proxy.get("/x").status, 502);
    }
    const Response not_ready = admin_get(proxy.admin_port(), "/readyz");
    EXPECT_EQ(not_ready.status, 503);
    EXPECT_THAT(not_ready.body, HasSubstr("no pool that a route uses has a usable origin server"));
    EXPECT_EQ(admin_get(proxy.admin_port(), "/healthz").status, 200); // alive all the same
}

TEST(Metrics, AdminEndpointsAnswerClearly) {
    ScriptedOrigin origin;
    LacquerProcess proxy(caching_config(origin, kCachedPassedRejected).admin());
    ASSERT_TRUE(proxy.started());
    const Response health = admin_get(proxy.admin_port(), "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(admin_get(proxy.admin_port(), "/readyz").status, 200);
    const Response metrics = admin_get(proxy.admin_port(), "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_THAT(metrics.header("Content-Type"), HasSubstr("version=0.0.4"));
    EXPECT_THAT(metrics.body, HasSubstr("# TYPE lacquer_requests_total counter"));
    EXPECT_THAT(metrics.body, HasSubstr("lacquer_build_info{version=\""));
    EXPECT_EQ(admin_get(proxy.admin_port(), "/nothing").status, 404);
    EXPECT_EQ(admin_get(proxy.admin_port(), "/purge/all").status, 405); // purges are POST
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.admin_port()));
    EXPECT_EQ(client.request("POST", "/metrics", {}, "x").status, 405);
}

} // namespace
} // namespace lacquer::test
