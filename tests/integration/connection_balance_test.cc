// Exact connection balance (listen[].balance, net/connection_balancer.h) in the real lacquerd:
// 40 keep-alive connections to 2 workers end up 20 and 20 (the kernel's SO_REUSEPORT hash alone
// leaves them as uneven as chance makes them), the moves are counted, every connection is served
// on the worker it landed on; `balance: kernel` moves nothing.
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

constexpr int kConnections = 40;

// Opens kConnections keep-alive connections one after another, each answered once; they stay.
std::vector<std::unique_ptr<HttpClient>> open_connections(const LacquerProcess& proxy) {
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < kConnections; ++i) {
        auto c = std::make_unique<HttpClient>();
        EXPECT_TRUE(c->connect(proxy.port()));
        const Response r = c->get("/p/" + std::to_string(i));
        EXPECT_EQ(r.status, 200) << r.summary();
        clients.push_back(std::move(c));
    }
    return clients;
}

double worker_connections(const LacquerProcess& proxy, int worker) {
    return scrape_metric(proxy.admin_port(), "lacquer_worker_connections",
                         "worker=\"" + std::to_string(worker) + "\"")
        .value_or(-1);
}

TEST(ConnectionBalance, KeepAliveConnectionsEndUpEvenAcrossTheWorkers) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.send(200, "ok"); });
    LacquerProcess proxy(TestConfig()
                             .workers(2)
                             .admin()
                             .origin(origin.address())
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    const auto clients = open_connections(proxy);
    const double w0 = worker_connections(proxy, 0);
    const double w1 = worker_connections(proxy, 1);
    EXPECT_EQ(w0 + w1, kConnections);
    // A worker hands a new connection on when it already holds two more than the other, so
    // they end at most 2 apart.
    EXPECT_LE(std::abs(w0 - w1), 2) << w0 << " vs " << w1;
    // Staying within 1 of each other for 40 kernel-hashed connections without a move happens
    // about once in a million runs.
    const double moved =
        scrape_metric(proxy.admin_port(), "lacquer_connections_moved_total").value_or(-1);
    EXPECT_GE(moved, 1);
    // Every connection, moved or not, still serves.
    for (const auto& c : clients) {
        EXPECT_EQ(c->get("/again").status, 200);
    }
    std::printf("40 connections on 2 workers: %.0f and %.0f, %.0f moved\n", w0, w1, moved);
}

TEST(ConnectionBalance, BalanceKernelLeavesEachConnectionWhereTheKernelPutIt) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.send(200, "ok"); });
    LacquerProcess proxy(TestConfig()
                             .workers(2)
                             .listener_setting("balance: kernel")
                             .admin()
                             .origin(origin.address())
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    const auto clients = open_connections(proxy);
    EXPECT_EQ(worker_connections(proxy, 0) + worker_connections(proxy, 1), kConnections);
    EXPECT_EQ(scrape_metric(proxy.admin_port(), "lacquer_connections_moved_total").value_or(-1), 0);
}

} // namespace
} // namespace lacquer::test
