// Exact connection balance (listen[].balance, net/connection_balancer.h) in the real lacquerd:
// 40 keep-alive connections to 2 workers end up 20 and 20 (the kernel's SO_REUSEPORT hash alone
// leaves them as uneven as chance makes them), the moves are counted, every connection is served
// on the worker it landed on; `balance: kernel` moves nothing. `workers: auto` gives the
// connections to one worker when the workers wait for a shared CPU.
#include "support/deadline.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <sched.h>
#include <string>
#include <thread>
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

// Every thread of process `pid` (lacquerd's workers among them) on CPU `cpu` only.
bool pin_process(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (dir == nullptr) {
        return false;
    }
    int pinned = 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] != '.' &&
            ::sched_setaffinity(std::atoi(e->d_name), sizeof set, &set) == 0) {
            ++pinned;
        }
    }
    ::closedir(dir);
    return pinned > 0;
}

// workers: auto (net/worker_governor.h) in the real lacquerd: its workers made to share one CPU
// while clients on the other keep them busy, so that they wait for it. The governor leaves one
// worker taking connections, the others' connections close after an answer (Connection: close)
// and come back to it, and no request fails on the way.
TEST(WorkersAuto, WorkersThatWaitForACpuGiveTheirConnectionsToOne) {
    if (std::thread::hardware_concurrency() < 2) {
        GTEST_SKIP() << "workers: auto runs one worker on one CPU: nothing to govern";
    }
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.send_head(200, {{"Cache-Control", "max-age=3600"}, {"Content-Length", "6"}});
        x.send_body("cached");
    });
    LacquerProcess proxy(TestConfig().workers(0).admin().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    const auto metric = [&](const char* name, const std::string& labels = "") {
        return scrape_metric(proxy.admin_port(), name, labels).value_or(-1);
    };
    const double workers = metric("lacquer_workers");
    ASSERT_GE(workers, 2);
    EXPECT_EQ(metric("lacquer_workers_taking_connections"), workers);
    ASSERT_TRUE(pin_process(proxy.pid(), 0));
    cpu_set_t other;
    CPU_ZERO(&other);
    CPU_SET(1, &other);
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::atomic<int> reconnects{0};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&] {
            ::sched_setaffinity(0, sizeof other, &other); // the clients on the other CPU
            std::vector<std::unique_ptr<HttpClient>> conns;
            for (int c = 0; c < 2; ++c) {
                conns.push_back(std::make_unique<HttpClient>());
                if (!conns.back()->connect(proxy.port())) {
                    std::lock_guard<std::mutex> lock(failures_mutex);
                    failures.push_back("connect");
                    return;
                }
            }
            // Bounded: stops when told, or after 60 s of requests at most.
            const Deadline deadline(60s);
            while (!stop.load() && !deadline.expired()) {
                for (auto& conn : conns) {
                    const Response r = conn->get("/hot");
                    if (r.status != 200 || !r.complete) {
                        std::lock_guard<std::mutex> lock(failures_mutex);
                        failures.push_back(r.summary());
                        return;
                    }
                    answered.fetch_add(1);
                    if (r.header("Connection") == "close") { // shed: come back
                        conn = std::make_unique<HttpClient>();
                        if (!conn->connect(proxy.port())) {
                            std::lock_guard<std::mutex> lock(failures_mutex);
                            failures.push_back("reconnect");
                            return;
                        }
                        reconnects.fetch_add(1);
                    }
                }
            }
        });
    }
    const bool shrank =
        eventually(30s, [&] { return metric("lacquer_workers_taking_connections") == 1; });
    // The busy connections on the other workers close after their next answer; theirs come
    // back to worker 0 (the kernel may hand them to another, which hands them on).
    const bool moved =
        shrank && eventually(10s, [&] {
            double elsewhere = 0;
            for (int w = 1; w < static_cast<int>(workers); ++w) {
                elsewhere +=
                    metric("lacquer_worker_connections", "worker=\"" + std::to_string(w) + "\"");
            }
            return elsewhere == 0 && metric("lacquer_worker_connections", "worker=\"0\"") == 8;
        });
    stop = true;
    for (auto& t : clients) {
        t.join();
    }
    EXPECT_TRUE(shrank) << "workers taking connections: "
                        << metric("lacquer_workers_taking_connections");
    EXPECT_TRUE(moved);
    EXPECT_TRUE(failures.empty()) << failures.front();
    const double shed = metric("lacquer_connections_shed_total");
    EXPECT_GE(shed, 1);
    EXPECT_EQ(shed, reconnects.load()) << "every shed connection said Connection: close";
    std::printf("workers: auto, %g workers on one CPU: 1 takes connections; %g shed, %d answers\n",
                workers, shed, answered.load());
}

} // namespace
} // namespace lacquer::test
