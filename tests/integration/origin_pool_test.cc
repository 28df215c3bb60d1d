// The origin pool under failure, end to end (issue 17): the real lacquerd in front of several
// real origin servers on loopback. A killed server is probed down and gets no more requests,
// then gets traffic again within interval x healthy_after of its return; a server answering 503
// to everything is ejected by passive detection alone; with every server down stale-if-error
// still serves and /readyz says 503; least_connections spares a slow server; the operator
// drains and enables a server through the admin API; a reload changes a pool's servers and
// probe settings without dropping a request in flight. Times measured here are printed.
#include "support/deadline.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

const HeaderFields kHost{{"Host", "api.test"}};

// Answers every request 200 (nothing cacheable, so each GET reaches an origin), /healthz too.
void serve_ok(ScriptedOrigin& origin, std::string name) {
    origin.on_any([name](OriginExchange& x) { x.send(200, name); });
}

// The config of pool `api` with `servers` and the pool keys in `settings` (YAML lines).
std::string pool_yaml(const std::vector<std::string>& servers,
                      const std::vector<std::string>& settings, int workers = 2,
                      std::string_view routes = {}) {
    std::string y = "workers: " + std::to_string(workers) +
                    "\nlisten:\n  - address: 127.0.0.1:0\nadmin:\n  address: 127.0.0.1:0\n"
                    "log: { access: off }\norigins:\n  api:\n    servers:\n";
    for (const std::string& s : servers) {
        y += "      - address: " + s + "\n";
    }
    for (const std::string& line : settings) {
        y += "    " + line + "\n";
    }
    return y + std::string(routes);
}

std::string up_filter(const ScriptedOrigin& origin) {
    return "server=\"" + origin.address() + "\"";
}

// lacquer_origin_server_up of one server; -1 when unreadable.
double server_up(const LacquerProcess& proxy, const std::string& server_address) {
    return scrape_metric(proxy.admin_port(), "lacquer_origin_server_up",
                         "server=\"" + server_address + "\"")
        .value_or(-1);
}

// Waits (bounded) until the server's lacquer_origin_server_up is `value`; the time it took.
std::optional<Clock::duration> wait_server_up(const LacquerProcess& proxy,
                                              const std::string& server_address, double value,
                                              Millis timeout) {
    const auto start = Clock::now();
    if (eventually(timeout, [&] { return server_up(proxy, server_address) == value; })) {
        return Clock::now() - start;
    }
    return std::nullopt;
}

// One POST on a new connection to the admin listener.
Response admin_post(std::uint16_t admin_port, const std::string& target) {
    HttpClient client;
    if (!client.connect(admin_port)) {
        return {};
    }
    return client.request("POST", target);
}

long long ms(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// `threads` clients GET unique URLs on keep-alive connections until stopped (at most 30 s),
// counting answers that are not a complete 200.
class SteadyLoad {
public:
    SteadyLoad(std::uint16_t port, int threads) {
        for (int t = 0; t < threads; ++t) {
            threads_.emplace_back([this, port, t] { run(port, t); });
        }
    }
    ~SteadyLoad() { stop(); }
    void stop() {
        stop_ = true;
        for (std::thread& t : threads_) {
            if (t.joinable()) {
                t.join();
            }
        }
    }
    int ok() const { return ok_; }
    int failed() const { return failed_; }

private:
    void run(std::uint16_t port, int t) {
        const auto end = Clock::now() + 30s;
        HttpClient client;
        for (int n = 0; !stop_ && Clock::now() < end; ++n) {
            if (!client.is_connected() && !client.connect(port)) {
                ++failed_;
                std::this_thread::sleep_for(5ms);
                continue;
            }
            const std::string target = "/load/" + std::to_string(t) + "/" + std::to_string(n);
            const Response r = client.get(target, kHost, 5s);
            if (r.complete && r.status == 200) {
                ++ok_;
            } else {
                ++failed_;
                client.close();
            }
        }
    }
    std::atomic<bool> stop_{false};
    std::atomic<int> ok_{0};
    std::atomic<int> failed_{0};
    std::vector<std::thread> threads_;
};

TEST(OriginPool, AKilledServerIsProbedDownGetsNoTrafficAndIsBackWithinTheProbeWindow) {
    ScriptedOrigin a;
    ScriptedOrigin b;
    auto c = std::make_unique<ScriptedOrigin>();
    serve_ok(a, "a");
    serve_ok(b, "b");
    serve_ok(*c, "c");
    const std::string c_address = c->address();
    const std::uint16_t c_port = c->port();
    // interval x healthy_after = 400 ms (+ 10% jitter).
    LacquerProcess proxy(
        pool_yaml({a.address(), b.address(), c_address},
                  {"health: { path: /healthz, interval: 200ms, timeout: 100ms, unhealthy_after: 2, "
                   "healthy_after: 2 }"}));
    ASSERT_TRUE(proxy.started());
    SteadyLoad load(proxy.port(), 4);
    ASSERT_TRUE(c->wait_for_count("/healthz", 1, 5s)) << "c is never probed";
    ASSERT_TRUE(a.wait_for_requests(50, 5s));
    ASSERT_TRUE(c->wait_for_requests(50, 5s)) << "c gets no share of the load";

    c->stop(); // refuses connections from now on
    const auto down = wait_server_up(proxy, c_address, 0, 5s);
    ASSERT_TRUE(down.has_value()) << "c is never taken out";
    const int failed_while_ejecting = load.failed();
    // Taken out: no more exchanges with c (its connect errors stop growing).
    const std::string c_errors = "server=\"" + c_address + "\",kind=\"connect_failed\"";
    const double errors_at_down =
        scrape_metric(proxy.admin_port(), "lacquer_origin_errors_total", c_errors).value_or(0);
    const std::size_t a_before = a.total_requests();
    ASSERT_TRUE(a.wait_for_requests(a_before + 100, 5s));
    EXPECT_EQ(
        scrape_metric(proxy.admin_port(), "lacquer_origin_errors_total", c_errors).value_or(0),
        errors_at_down)
        << "a server taken out still gets requests";
    EXPECT_EQ(load.failed(), failed_while_ejecting) << "client errors after c was taken out";
    EXPECT_TRUE(proxy.wait_for_stderr("origin api server " + c_address + " is probed_down", 2s))
        << proxy.stderr_text();

    // Back on the same port: within interval x healthy_after (+ jitter, + the scrape) it is up
    // and takes requests again.
    ScriptedOrigin c_again(c_port);
    serve_ok(c_again, "c again");
    const auto back_at = Clock::now();
    const auto up = wait_server_up(proxy, c_address, 1, 5s);
    ASSERT_TRUE(up.has_value()) << "c is never re-admitted";
    ASSERT_TRUE(c_again.wait_for_count("/healthz", 2, 5s));
    const auto first_load = [&] {
        for (const ReceivedRequest& r : c_again.requests()) {
            if (r.path.starts_with("/load/")) {
                return true;
            }
        }
        return false;
    };
    (void)eventually(5s, first_load);
    const auto readmitted = Clock::now() - back_at;
    EXPECT_TRUE(first_load()) << "c is up but gets no traffic";
    EXPECT_LT(ms(readmitted), 200 * 2 * 11 / 10 + 200 + 400)
        << "re-admitted later than interval x healthy_after (+ jitter, first probe, scrape)";
    load.stop();
    std::printf("[ figures  ] killed server: taken out after %lld ms (lacquer_origin_server_up 0), "
                "client errors %d of %d; back: traffic after %lld ms\n",
                ms(*down), failed_while_ejecting, load.ok() + load.failed(), ms(readmitted));
}

TEST(OriginPool, WithoutTrafficTheProbeAloneTakesADeadServerOutAndBringsItBack) {
    ScriptedOrigin a;
    auto b = std::make_unique<ScriptedOrigin>();
    serve_ok(a, "a");
    serve_ok(*b, "b");
    const std::string b_address = b->address();
    const std::uint16_t b_port = b->port();
    LacquerProcess proxy(
        pool_yaml({a.address(), b_address},
                  {"health: { path: /healthz, interval: 200ms, timeout: 100ms, unhealthy_after: 2, "
                   "healthy_after: 2 }"}));
    ASSERT_TRUE(proxy.started());
    ASSERT_TRUE(b->wait_for_count("/healthz", 1, 5s));
    b->stop();
    // unhealthy_after probes: at most 2 x (interval + 10% jitter), plus the scrape.
    const auto down = wait_server_up(proxy, b_address, 0, 5s);
    ASSERT_TRUE(down.has_value());
    EXPECT_LT(ms(*down), 2 * 220 + 300);
    ScriptedOrigin b_again(b_port);
    serve_ok(b_again, "b again");
    const auto up = wait_server_up(proxy, b_address, 1, 5s);
    ASSERT_TRUE(up.has_value());
    EXPECT_LT(ms(*up), 2 * 220 + 300);
    std::printf("[ figures  ] probe alone (interval 200ms, 2 in a row): out after %lld ms, back "
                "after %lld ms\n",
                ms(*down), ms(*up));
}

TEST(OriginPool, AServerAnsweringFiveHundredThreeIsEjectedByPassiveDetectionAlone) {
    ScriptedOrigin a;
    ScriptedOrigin b;
    ScriptedOrigin bad;
    serve_ok(a, "a");
    serve_ok(b, "b");
    bad.on_any([](OriginExchange& x) { x.send(503, "overloaded"); });
    LacquerProcess proxy(
        pool_yaml({a.address(), b.address(), bad.address()},
                  {"outlier_detection: { consecutive_failures: 3, base_ejection_time: 30s }"}));
    ASSERT_TRUE(proxy.started());
    const auto start = Clock::now();
    int fives = 0;
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    for (int i = 0; i < 60; ++i) {
        const Response r = client.get("/p/" + std::to_string(i), kHost);
        ASSERT_TRUE(r.complete) << r.summary();
        fives += r.status == 503 ? 1 : 0;
    }
    ASSERT_TRUE(
        expect_metric(proxy.admin_port(), "lacquer_origin_ejections_total", 1, 5s, up_filter(bad)));
    const auto ejected_after = Clock::now() - start;
    EXPECT_EQ(server_up(proxy, bad.address()), 0);
    EXPECT_EQ(server_up(proxy, a.address()), 1);
    // Two workers each saw at most consecutive_failures 503s before it was ejected.
    EXPECT_LE(fives, 2 * 3 + 2);
    const std::size_t bad_seen = bad.total_requests();
    for (int i = 0; i < 40; ++i) {
        const Response r = client.get("/q/" + std::to_string(i), kHost);
        EXPECT_EQ(r.status, 200) << r.summary();
    }
    EXPECT_EQ(bad.total_requests(), bad_seen) << "an ejected server still gets requests";
    EXPECT_TRUE(proxy.wait_for_stderr("server " + bad.address() + " is ejected for", 2s))
        << proxy.stderr_text();
    std::printf("[ figures  ] 503 server: ejected after %d client 503s, %lld ms\n", fives,
                ms(ejected_after));
}

TEST(OriginPool, EveryServerDownStaleIfErrorStillServesAndReadyzIsNotReady) {
    auto a = std::make_unique<ScriptedOrigin>();
    auto b = std::make_unique<ScriptedOrigin>();
    for (ScriptedOrigin* o : {a.get(), b.get()}) {
        o->on_any([](OriginExchange& x) {
            x.respond(200, {{"Cache-Control", "max-age=1, stale-if-error=60"}}, "kept");
        });
    }
    LacquerProcess proxy(pool_yaml(
        {a->address(), b->address()},
        {"health: { path: /healthz, interval: 100ms, timeout: 50ms, unhealthy_after: 1 }"}, 2,
        "routes:\n  - name: c\n    match: { path_prefix: /c/ }\n"
        "    cache: { key_params: all, stale_if_error: 60s }\n"));
    ASSERT_TRUE(proxy.started());
    const Response first = proxy.get("/c/item", kHost);
    ASSERT_EQ(first.status, 200) << first.summary();
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 200);

    a->stop();
    b->stop();
    int readyz = 0;
    (void)eventually(
        5s, [&] { return (readyz = http_get(proxy.admin_port(), "/readyz").status) == 503; });
    EXPECT_EQ(readyz, 503) << "/readyz still ready with every server down";
    EXPECT_THAT(http_get(proxy.admin_port(), "/readyz").body, HasSubstr("no pool"));
    // Asks until the object is past max-age=1 (a fresh hit until then); the origin is down:
    // the first answer after it expires is the stale copy.
    Response stale;
    (void)eventually(5s, [&] {
        stale = proxy.get("/c/item", kHost);
        return stale.status != 200 || stale.header("Cache-Status") != "lacquer; hit";
    });
    EXPECT_EQ(stale.status, 200) << stale.summary();
    EXPECT_EQ(stale.body, "kept");
    EXPECT_THAT(stale.header("Cache-Status"), HasSubstr("; fwd=stale"));
    // A miss is answered at once with an error (the panic sends it to a down server).
    const auto t0 = Clock::now();
    const Response miss = proxy.get("/c/other", kHost);
    EXPECT_GE(miss.status, 502) << miss.summary();
    EXPECT_LT(ms(Clock::now() - t0), 1000);
}

TEST(OriginPool, LeastConnectionsSendsFewerRequestsToASlowServer) {
    ScriptedOrigin fast;
    ScriptedOrigin slow;
    serve_ok(fast, "fast");
    slow.on_any([](OriginExchange& x) {
        x.sleep_for(100ms);
        x.send(200, "slow");
    });
    LacquerProcess proxy(
        pool_yaml({fast.address(), slow.address()}, {"balance: least_connections"}, 1));
    ASSERT_TRUE(proxy.started());
    SteadyLoad load(proxy.port(), 6);
    ASSERT_TRUE(fast.wait_for_requests(600, 10s));
    load.stop();
    EXPECT_EQ(load.failed(), 0);
    std::printf("[ figures  ] least_connections: fast %zu, slow (100 ms) %zu requests\n",
                fast.total_requests(), slow.total_requests());
    EXPECT_GT(slow.total_requests(), 0u);
    EXPECT_LT(slow.total_requests() * 5, fast.total_requests());
}

TEST(OriginPool, TheOperatorDrainsDisablesAndEnablesAServerThroughTheAdminApi) {
    ScriptedOrigin a;
    ScriptedOrigin b;
    serve_ok(a, "a");
    serve_ok(b, "b");
    Gate release;
    b.on_get("/slow", [&](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(5s));
        x.send(200, "finished");
    });
    LacquerProcess proxy(pool_yaml({a.address(), b.address()}, {}, 1));
    ASSERT_TRUE(proxy.started());
    // One in flight on b (round robin: the second request goes to b).
    EXPECT_EQ(proxy.get("/one", kHost).status, 200);
    ConcurrentGets in_flight(proxy.port(), "/slow", 1, kHost);
    ASSERT_TRUE(b.wait_for_count("/slow", 1, 5s));

    const Response drained =
        admin_post(proxy.admin_port(), "/origin/drain?pool=api&server=" + b.address());
    EXPECT_EQ(drained.status, 200) << drained.summary();
    EXPECT_THAT(drained.body, HasSubstr("draining"));
    const Response list = http_get(proxy.admin_port(), "/origins");
    EXPECT_THAT(list.body, HasSubstr(b.address()));
    EXPECT_THAT(list.body, HasSubstr("draining"));
    const std::size_t b_seen = b.total_requests();
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(proxy.get("/d/" + std::to_string(i), kHost).body, "a");
    }
    EXPECT_EQ(b.total_requests(), b_seen) << "a draining server got a new request";
    release.open();
    for (const Response& r : in_flight.collect(5s)) {
        EXPECT_EQ(r.body, "finished") << "the request in flight on the drained server";
    }
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 200);
    EXPECT_EQ(
        admin_post(proxy.admin_port(), "/origin/disable?pool=api&server=" + a.address()).status,
        200);
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 503)
        << "no usable server left in the only pool";
    EXPECT_EQ(proxy.get("/none", kHost).status, 503);
    EXPECT_EQ(
        admin_post(proxy.admin_port(), "/origin/enable?pool=api&server=" + b.address()).status,
        200);
    EXPECT_EQ(proxy.get("/e", kHost).body, "b");
    EXPECT_EQ(admin_post(proxy.admin_port(), "/origin/enable?pool=api&server=10.9.9.9:1").status,
              404);
    EXPECT_THAT(proxy.stderr_text(),
                HasSubstr("admin: origin api server " + b.address() + " is now draining"));
}

TEST(OriginPool, AReloadChangesServersAndProbesWithoutDroppingARequestInFlight) {
    ScriptedOrigin a;
    ScriptedOrigin b;
    ScriptedOrigin c;
    serve_ok(a, "a");
    serve_ok(b, "b");
    serve_ok(c, "c");
    Gate release;
    for (ScriptedOrigin* o : {&a, &b}) { // whichever gets it holds it across the reload
        o->on_get("/slow", [&](OriginExchange& x) {
            EXPECT_TRUE(release.wait_for(10s));
            x.send(200, "finished");
        });
    }
    LacquerProcess proxy(pool_yaml({a.address(), b.address()},
                                   {"health: { path: /healthz, interval: 1s, timeout: 200ms }"}));
    ASSERT_TRUE(proxy.started());
    ConcurrentGets in_flight(proxy.port(), "/slow", 1, kHost);
    const auto slow_held = [&] { return a.count("/slow") + b.count("/slow") == 1; };
    ASSERT_TRUE(eventually(5s, slow_held));
    SteadyLoad load(proxy.port(), 2);
    ASSERT_TRUE(b.wait_for_requests(20, 5s));

    proxy.rewrite_config(pool_yaml(
        {b.address(), c.address()},
        {"health: { path: /healthz, interval: 100ms, timeout: 50ms, healthy_after: 1 }"}));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("reloaded", 5s)) << proxy.stderr_text();
    ASSERT_TRUE(c.wait_for_count("/healthz", 2, 5s)) << "the new probe settings do not run";
    const std::size_t c_before = c.total_requests();
    ASSERT_TRUE(c.wait_for_requests(c_before + 20, 5s)) << "the new server gets no traffic";
    const std::size_t a_after = a.total_requests();
    ASSERT_TRUE(b.wait_for_requests(b.total_requests() + 20, 5s));
    release.open();
    for (const Response& r : in_flight.collect(10s)) {
        EXPECT_EQ(r.status, 200) << r.summary();
        EXPECT_EQ(r.body, "finished");
    }
    load.stop();
    EXPECT_EQ(load.failed(), 0);
    EXPECT_EQ(a.total_requests(), a_after) << "a removed server still gets requests";
}

} // namespace
} // namespace lacquer::test
