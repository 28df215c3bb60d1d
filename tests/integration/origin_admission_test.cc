// Admission to an origin pool (issue 17, item 5): with `max_in_flight`, a slow origin never sees
// more exchanges at once than the limit, whatever the workers; requests over it wait in a bounded
// queue, and one that waits past `queue_timeout` (or finds the queue full) gets 503 with
// Retry-After, never reaching the origin.
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <atomic>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

TEST(OriginAdmission, ASlowOriginNeverSeesMoreThanMaxInFlight) {
    constexpr int kLimit = 3;
    constexpr int kClients = 12;
    ScriptedOrigin origin;
    std::atomic<int> busy{0};
    std::atomic<int> most{0};
    origin.on_any([&](OriginExchange& x) {
        const int now = ++busy;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        (void)x.sleep_for(150ms);
        --busy; // before the answer: lacquerd may send the next request as soon as it has it
        x.send(200, "slow");
    });
    LacquerProcess proxy(TestConfig()
                             .workers(2)
                             .admin()
                             .origin(origin.address())
                             .origin_setting("max_in_flight: " + std::to_string(kLimit))
                             .origin_setting("max_queue: 64")
                             .origin_setting("queue_timeout: 10s")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Response> answers = get_concurrently(proxy.port(), "/slow", kClients, 20s);
    const auto took = std::chrono::steady_clock::now() - start;
    for (const Response& r : answers) {
        EXPECT_EQ(r.status, 200) << r.summary();
    }
    EXPECT_EQ(origin.total_requests(), static_cast<std::size_t>(kClients));
    EXPECT_LE(most.load(), kLimit);
    EXPECT_EQ(most.load(), kLimit) << "the limit was never reached: the test proved nothing";
    // Queued exchanges waited, and said so.
    EXPECT_TRUE(
        expect_metric(proxy.admin_port(), "lacquer_origin_queue_wait_seconds_count", 1, 5s, {}));
    EXPECT_EQ(scrape_metric(proxy.admin_port(), "lacquer_origin_admitted").value_or(-1), 0);
    EXPECT_EQ(scrape_metric(proxy.admin_port(), "lacquer_origin_queue_length").value_or(-1), 0);
    std::printf("max_in_flight %d, %d clients at once, 150 ms each: most at the origin %d, all "
                "answered in %.0f ms\n",
                kLimit, kClients, most.load(),
                std::chrono::duration<double, std::milli>(took).count());
}

TEST(OriginAdmission, TheQueueTimesOutWith503AndRetryAfterAndAFullQueueRefusesAtOnce) {
    ScriptedOrigin origin;
    Gate release;
    origin.on_get("/hold", [&](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(10s));
        x.send(200, "held");
    });
    origin.on_any([](OriginExchange& x) { x.send(200, "must not be asked"); });
    LacquerProcess proxy(TestConfig()
                             .workers(2)
                             .admin()
                             .origin(origin.address())
                             .origin_setting("max_in_flight: 1")
                             .origin_setting("max_queue: 1")
                             .origin_setting("queue_timeout: 300ms")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient holder;
    ASSERT_TRUE(holder.connect(proxy.port()));
    ASSERT_TRUE(holder.send_raw(build_request("GET", "/hold")));
    ASSERT_TRUE(release.wait_for_waiters(1, 5s));

    std::thread queued_client([&] {
        const auto start = std::chrono::steady_clock::now();
        const Response r = http_get(proxy.port(), "/queued", {}, 5s);
        const auto waited = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(r.status, 503) << r.summary();
        EXPECT_EQ(r.header("Retry-After"), "1");
        EXPECT_GE(waited, 250ms) << "answered before its queue_timeout";
        EXPECT_LT(waited, 3s);
        std::printf("queued request: 503 after %.0f ms (queue_timeout 300ms)\n",
                    std::chrono::duration<double, std::milli>(waited).count());
    });
    ASSERT_TRUE(expect_metric(proxy.admin_port(), "lacquer_origin_queue_length", 1, 5s, {}));
    const auto start = std::chrono::steady_clock::now();
    const Response full = http_get(proxy.port(), "/full", {}, 5s);
    EXPECT_EQ(full.status, 503) << full.summary();
    EXPECT_EQ(full.header("Retry-After"), "1");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms) << "a full queue must refuse now";
    queued_client.join();

    release.open();
    const Response held = holder.read_response(5s);
    EXPECT_EQ(held.body, "held") << held.summary();
    EXPECT_EQ(origin.total_requests(), 1u); // neither refused request reached the origin
    EXPECT_TRUE(expect_metric(proxy.admin_port(), "lacquer_origin_errors_total", 1, 5s,
                              R"(kind="queue_timeout")"));
    EXPECT_TRUE(expect_metric(proxy.admin_port(), "lacquer_origin_errors_total", 1, 5s,
                              R"(kind="queue_full")"));
    // The slot came back: the next request goes through.
    EXPECT_EQ(http_get(proxy.port(), "/after").body, "must not be asked");
}

// Requests that wait on a cache fill (coalesced) share its fate: when the admission queue
// refuses the fill, each of them gets the 503 with Retry-After its client got, and the origin is
// asked nothing.
TEST(OriginAdmission, RequestsWaitingOnARefusedFillGet503WithRetryAfterToo) {
    ScriptedOrigin origin;
    Gate release;
    origin.on_get("/hold", [&](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(10s));
        x.respond(200, {{"Cache-Control", "no-store"}}, "held");
    });
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "must not be asked");
    });
    LacquerProcess proxy(TestConfig()
                             .workers(1)
                             .admin()
                             .origin(origin.address())
                             .origin_setting("max_in_flight: 1")
                             .origin_setting("max_queue: 4")
                             .origin_setting("queue_timeout: 300ms"));
    ASSERT_TRUE(proxy.started());
    HttpClient holder;
    ASSERT_TRUE(holder.connect(proxy.port()));
    ASSERT_TRUE(holder.send_raw(build_request("GET", "/hold")));
    ASSERT_TRUE(release.wait_for_waiters(1, 5s));

    constexpr int kClients = 6;
    const std::vector<Response> answers =
        get_concurrently(proxy.port(), "/wanted?x=1", kClients, 5s);
    for (const Response& r : answers) {
        EXPECT_EQ(r.status, 503) << r.summary();
        EXPECT_EQ(r.header("Retry-After"), "1") << r.summary();
    }
    // One fill queued for all of them: the others waited on it rather than queueing.
    EXPECT_EQ(
        scrape_metric(proxy.admin_port(), "lacquer_origin_errors_total", R"(kind="queue_timeout")")
            .value_or(-1),
        1);
    release.open();
    EXPECT_EQ(holder.read_response(5s).body, "held");
    EXPECT_EQ(origin.total_requests(), 1u); // only /hold
}

} // namespace
} // namespace lacquer::test
