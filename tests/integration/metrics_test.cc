// The admin listener and the counters behind /metrics: after a scripted sequence of requests
// every counter equals what was sent, exactly (waits are on the metric, never sleeps).
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <ctime>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
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

// Cached and passed routes on a live origin, and a passed route whose only server is a port
// nobody listens on (502 at once: connection refused).
std::string routes_with_a_dead_origin(const ScriptedOrigin& origin) {
    return "origins:\n"
           "  api:\n"
           "    servers:\n"
           "      - address: " +
           origin.address() +
           "\n"
           "  dead:\n"
           "    servers:\n"
           "      - address: 127.0.0.1:1\n"
           "routes:\n"
           "  - name: cached\n"
           "    match: { path_prefix: /c/ }\n"
           "    cache: { key_params: all, ttl: 60s }\n"
           "  - name: passed\n"
           "    match: { path_prefix: /p/ }\n"
           "    pass: true\n"
           "  - name: broken\n"
           "    match: { path_prefix: /b/ }\n"
           "    origin: dead\n"
           "    pass: true\n"
           "default_route: reject\n";
}

class MetricsOnCall : public ::testing::Test {
protected:
    void SetUp() override {
        origin_.on_any([](OriginExchange& x) {
            if (x.request().path == "/c/missing") {
                x.respond(404, {{"Cache-Control", "no-store"}}, "no such thing");
                return;
            }
            x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
        });
        proxy_ = std::make_unique<LacquerProcess>(
            TestConfig().workers(2).admin().extra(routes_with_a_dead_origin(origin_)));
        ASSERT_TRUE(proxy_->started());
        admin_ = proxy_->admin_port();
        ASSERT_NE(admin_, 0);
    }

    void exactly(std::string_view name, std::string_view labels, double expected) const {
        std::optional<double> seen;
        EXPECT_TRUE(wait_for_metric(admin_, name, expected, 5s, labels, &seen))
            << name << "{" << labels << "} reached only " << seen.value_or(-1);
        EXPECT_EQ(scrape_metric(admin_, name, labels), expected) << name << "{" << labels << "}";
    }

    ScriptedOrigin origin_;
    std::unique_ptr<LacquerProcess> proxy_;
    std::uint16_t admin_ = 0;
};

TEST_F(MetricsOnCall, ResponsesAreCountedByRouteAndStatusClassForEveryAnswer) {
    ASSERT_EQ(proxy_->get("/c/ok").header("Cache-Status"), kStored); // 200, miss
    ASSERT_EQ(proxy_->get("/c/ok").header("Cache-Status"), kHit);    // 200, hit
    ASSERT_EQ(proxy_->get("/p/ok").status, 200);                     // 200, pass
    ASSERT_EQ(proxy_->get("/c/missing").status, 404);                // the origin's 404
    ASSERT_EQ(proxy_->get("/b/down").status, 502);                   // a dead origin
    ASSERT_EQ(proxy_->get("/nowhere").status, 404);                  // default_route: reject
    HttpClient bad;
    ASSERT_TRUE(bad.connect(proxy_->port()));
    ASSERT_TRUE(bad.send_raw("GET /c/ok HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"));
    EXPECT_EQ(bad.read_response().status, 400); // refused by the parser, before any route

    exactly("lacquer_responses_total", R"(route="cached",code="2xx")", 2);
    exactly("lacquer_responses_total", R"(route="passed",code="2xx")", 1);
    exactly("lacquer_responses_total", R"(route="cached",code="4xx")", 1);
    exactly("lacquer_responses_total", R"(route="broken",code="5xx")", 1);
    exactly("lacquer_responses_total", R"(route="default",code="4xx")", 1);
    exactly("lacquer_responses_total", R"(route="-",code="4xx")", 1);
    exactly("lacquer_responses_total", R"(code="2xx")", 3);
    exactly("lacquer_responses_total", R"(code="4xx")", 3);
    exactly("lacquer_responses_total", R"(code="5xx")", 1);
    exactly("lacquer_responses_total", R"(code="1xx")", 0);
    exactly("lacquer_responses_total", R"(code="3xx")", 0);
    // Every answer is both a request and a response.
    exactly("lacquer_requests_total", "", 7);
    exactly("lacquer_responses_total", "", 7);
}

TEST_F(MetricsOnCall, LatencyHistogramsExistOnlyForStatusesTheRouteCanEndIn) {
    ASSERT_EQ(proxy_->get("/p/one").status, 200);
    ASSERT_EQ(proxy_->get("/c/one").header("Cache-Status"), kStored);
    exactly("lacquer_requests_total", R"(route="passed",cache_status="pass")", 1);
    exactly("lacquer_requests_total", R"(route="cached",cache_status="miss")", 1);
    const Response metrics = admin_get(admin_, "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const auto histogram = [&](std::string_view labels) {
        return metric_value(metrics.body, "lacquer_request_duration_seconds_count", labels);
    };
    EXPECT_EQ(histogram(R"(route="passed",cache_status="pass")"), 1);
    EXPECT_EQ(histogram(R"(route="cached",cache_status="miss")"), 1);
    EXPECT_EQ(histogram(R"(route="cached",cache_status="hit")"), 0);
    for (const char* route : {"passed", "broken", "default", "-"}) {
        for (const char* status :
             {"hit", "miss", "stale", "revalidated", "coalesced", "hit_for_miss"}) {
            const std::string labels =
                "route=\"" + std::string(route) + "\",cache_status=\"" + status + "\"";
            EXPECT_FALSE(histogram(labels)) << labels << " cannot occur: no series";
            // The counters keep every pair (the dashboard and alerts sum them).
            EXPECT_EQ(metric_value(metrics.body, "lacquer_requests_total", labels), 0) << labels;
        }
        for (const char* status : {"pass", "synth", "error"}) {
            const std::string labels =
                "route=\"" + std::string(route) + "\",cache_status=\"" + status + "\"";
            EXPECT_TRUE(histogram(labels)) << labels;
        }
    }
}

TEST_F(MetricsOnCall, ProcessMetricsDescribeTheRunningLacquerd) {
    const auto now = static_cast<double>(std::time(nullptr));
    const Response metrics = admin_get(admin_, "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const auto value = [&](std::string_view name) {
        return metric_value(metrics.body, name).value_or(-1);
    };
    // Listening sockets (client, admin), eventfds and epoll instances of 2 workers at least.
    EXPECT_GE(value("process_open_fds"), 6);
    EXPECT_LT(value("process_open_fds"), value("process_max_fds"));
    EXPECT_GT(value("process_resident_memory_bytes"), 1 << 20);
    EXPECT_GE(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
    EXPECT_GE(value("process_cpu_seconds_total"), 0);
    // Started by this test, a moment ago.
    EXPECT_GT(value("process_start_time_seconds"), now - 30);
    EXPECT_LE(value("process_start_time_seconds"), now + 1);
    EXPECT_THAT(metrics.body, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
    EXPECT_THAT(metrics.body, HasSubstr("# TYPE process_open_fds gauge\n"));
}

TEST_F(MetricsOnCall, RoutesSaysWhenEachRouteWasLastAskedForAndHowOften) {
    const auto before = static_cast<std::int64_t>(std::time(nullptr));
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(proxy_->get("/c/r").status, 200);
    }
    ASSERT_EQ(proxy_->get("/b/r").status, 502);
    exactly("lacquer_route_recent_requests", R"(route="cached",window="1h")", 3);
    exactly("lacquer_route_recent_requests", R"(route="cached",window="24h")", 3);
    exactly("lacquer_route_recent_requests", R"(route="cached",window="7d")", 3);
    exactly("lacquer_route_recent_requests", R"(route="broken",window="7d")", 1);
    exactly("lacquer_route_recent_requests", R"(route="passed",window="7d")", 0);
    const double last =
        scrape_metric(admin_, "lacquer_route_last_request_timestamp_seconds", R"(route="cached")")
            .value_or(-1);
    EXPECT_GE(last, static_cast<double>(before));
    EXPECT_LE(last, static_cast<double>(std::time(nullptr)));
    EXPECT_EQ(
        scrape_metric(admin_, "lacquer_route_last_request_timestamp_seconds", R"(route="passed")"),
        0);

    const Response json = admin_get(admin_, "/routes");
    ASSERT_EQ(json.status, 200) << json.summary();
    EXPECT_EQ(json.header("Content-Type"), "application/json");
    EXPECT_THAT(json.body, HasSubstr("{\"route\": \"cached\", \"last_request\": " +
                                     std::to_string(static_cast<std::int64_t>(last)) +
                                     ", \"requests_1h\": 3, \"requests_24h\": 3, "
                                     "\"requests_7d\": 3}"));
    EXPECT_THAT(json.body, HasSubstr("{\"route\": \"passed\", \"last_request\": null, "
                                     "\"requests_1h\": 0, \"requests_24h\": 0, "
                                     "\"requests_7d\": 0}"));
    EXPECT_THAT(json.body, HasSubstr("{\"route\": \"broken\", \"last_request\": "));
    const Response text = admin_get(admin_, "/routes?format=text");
    ASSERT_EQ(text.status, 200);
    EXPECT_THAT(text.body, HasSubstr("\npassed "));
    EXPECT_THAT(text.body, HasSubstr(" never "));
}

} // namespace
} // namespace lacquer::test
