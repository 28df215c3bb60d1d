// SIGHUP reload end to end: under a client loop, a changed config applies (a new route caches)
// with no failed request and the cache kept; a broken config, or one that changes what needs a
// restart, is refused with FILE:LINE:COL and traffic goes on; a request in flight finishes on
// the config it started with. Real lacquerd (two workers), scripted origin.
#include "cache_test_support.h"
#include "support/deadline.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;

constexpr std::string_view kBefore = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: slow
    match: { path_prefix: /slow/ }
    pass: true
default_route: reject
)";

constexpr std::string_view kAfter = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: fresh
    match: { path_prefix: /new/ }
    cache: { key_params: all, ttl: 60s }
default_route: reject
)";

TestConfig config_with(const ScriptedOrigin& origin, std::string_view routes) {
    return caching_config(origin, routes).workers(2).admin();
}

// GETs `target` on keep-alive connections (a new one every 20 requests) until stopped, counting
// the answers that are not a complete 200. Bounded: at most 20 s.
class ClientLoop {
public:
    ClientLoop(std::uint16_t port, std::string target)
        : thread_([this, port, target] { run(port, target); }) {}
    ~ClientLoop() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int ok() const { return ok_; }
    int failed() const { return failed_; }
    const std::string& first_failure() const { return first_failure_; }

private:
    void run(std::uint16_t port, const std::string& target) {
        const auto end = std::chrono::steady_clock::now() + 20s;
        HttpClient client;
        for (int n = 0; !stop_ && std::chrono::steady_clock::now() < end; ++n) {
            if (n % 20 == 0 && !client.connect(port)) {
                record_failure("connect: " + client.last_error());
                continue;
            }
            const Response r = client.get(target, {{"Host", "api.test"}}, 5s);
            if (r.complete && r.status == 200) {
                ++ok_;
            } else {
                record_failure(r.summary());
                (void)client.connect(port);
            }
        }
    }
    void record_failure(const std::string& what) {
        if (failed_++ == 0) {
            first_failure_ = what;
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<int> ok_{0};
    std::atomic<int> failed_{0};
    std::string first_failure_;
    std::thread thread_;
};

TEST(Reload, UnderLoadTheNewRouteAppliesTheCacheStaysAndNoRequestFails) {
    ScriptedOrigin origin;
    origin.on_get("/c/item", [](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "item");
    });
    origin.on_get("/new/x", [](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "new route");
    });
    LacquerProcess proxy(config_with(origin, kBefore));
    ASSERT_TRUE(proxy.started());
    const HeaderFields host{{"Host", "api.test"}};
    ASSERT_EQ(proxy.get("/c/item", host).header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/new/x", host).status, 404); // no route yet

    ClientLoop loop(proxy.port(), "/c/item");
    // Traffic before, during and after the reload: 50 answers before it, 50 more after it.
    ASSERT_TRUE(eventually(5s, [&] { return loop.ok() >= 50; })) << loop.ok() << " answers";
    proxy.rewrite_config(config_with(origin, kAfter));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("lacquerd: reloaded", 5s)) << proxy.stderr_text();
    const int after_reload = loop.ok() + 50;
    ASSERT_TRUE(eventually(5s, [&] { return loop.ok() >= after_reload; })) << loop.ok();
    loop.stop();
    EXPECT_EQ(loop.failed(), 0) << loop.first_failure();
    EXPECT_GT(loop.ok(), 50);

    const Response fresh = proxy.get("/new/x", host);
    EXPECT_EQ(fresh.status, 200);
    EXPECT_EQ(fresh.body, "new route");
    EXPECT_EQ(fresh.header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/new/x", host).header("Cache-Status"), kHit); // the new route caches
    EXPECT_EQ(proxy.get("/c/item", host).header("Cache-Status"), kHit);
    EXPECT_EQ(origin.count("/c/item"), 1u); // every loop request was a hit: the cache stayed
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_config_reloads_total", 1, 2s, "success"));
    // The new route has its own series, counted.
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_requests_total", 1, 2s, "route=\"fresh\""));
}

TEST(Reload, ABrokenConfigIsRefusedWithItsPositionAndTheRunningOneStays) {
    ScriptedOrigin origin;
    origin.on_get("/c/item", [](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "item");
    });
    LacquerProcess proxy(config_with(origin, kBefore));
    ASSERT_TRUE(proxy.started());
    const HeaderFields host{{"Host", "api.test"}};
    ASSERT_EQ(proxy.get("/c/item", host).header("Cache-Status"), kStored);

    proxy.rewrite_config(config_with(origin, "routes:\n  - cache: { max_age: 1m }\n"));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("max_age", 5s)) << proxy.stderr_text();
    EXPECT_THAT(proxy.stderr_text(), HasSubstr(proxy.config_path().string() + ":"));
    EXPECT_THAT(proxy.stderr_text(), HasSubstr("unknown key `routes[0].cache.max_age`"));
    EXPECT_EQ(proxy.get("/c/item", host).header("Cache-Status"), kHit);

    // A change only a restart applies is refused too, at the setting.
    proxy.rewrite_config(config_with(origin, kBefore).storage("eviction", "clock"));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("the running config stays\n", 5s)) << proxy.stderr_text();
    EXPECT_THAT(proxy.stderr_text(), HasSubstr("`storage.eviction`"));
    EXPECT_EQ(proxy.get("/c/item", host).body, "item");
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_config_reloads_total", 2, 2s, "failure"));
    EXPECT_EQ(origin.count("/c/item"), 1u);
}

TEST(Reload, ARequestInFlightFinishesOnTheConfigItStartedWith) {
    ScriptedOrigin origin;
    Gate gate;
    origin.on_get("/slow/x", [&](OriginExchange& x) {
        (void)gate.wait_for(5s);
        x.respond(200, {}, "slow answer");
    });
    LacquerProcess proxy(config_with(origin, kBefore));
    ASSERT_TRUE(proxy.started());
    HttpClient busy;
    ASSERT_TRUE(busy.connect(proxy.port()));
    ASSERT_TRUE(busy.send_raw(build_request("GET", "/slow/x", {{"Host", "api.test"}})));
    ASSERT_TRUE(origin.wait_for_count("/slow/x", 1, 5s));

    proxy.rewrite_config(config_with(origin, kAfter)); // no /slow/ route any more: 404
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("lacquerd: reloaded", 5s)) << proxy.stderr_text();
    EXPECT_EQ(proxy.get("/slow/x").status, 404); // new requests run on the new config
    gate.open();
    const Response r = busy.read_response(5s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "slow answer");
    // The same connection's next request runs on the new config.
    EXPECT_EQ(busy.get("/slow/x", {{"Host", "api.test"}}).status, 404);
    EXPECT_EQ(origin.count("/slow/x"), 1u);
}

// The ports of every "listening on 127.0.0.1:PORT" line printed so far, in order.
std::vector<std::uint16_t> printed_ports(const LacquerProcess& proxy) {
    std::vector<std::uint16_t> ports;
    const std::string text = proxy.stdout_text();
    constexpr std::string_view kLine = "listening on 127.0.0.1:";
    for (std::size_t at = text.find(kLine); at != std::string::npos;
         at = text.find(kLine, at + 1)) {
        if (at > 0 && text[at - 1] != '\n') {
            continue; // "admin listening on ..."
        }
        ports.push_back(static_cast<std::uint16_t>(std::stoi(text.substr(at + kLine.size()))));
    }
    return ports;
}

TEST(Reload, ListenAddressesAddedOpenRemovedOnesCloseAndTheOthersKeepTheirConnections) {
    ScriptedOrigin origin;
    origin.on_get("/c/item", [](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "item");
    });
    LacquerProcess proxy(config_with(origin, kBefore).listeners(2));
    ASSERT_TRUE(proxy.started());
    const std::uint16_t first = proxy.port(0);
    const std::uint16_t second = proxy.port(1);
    HttpClient kept;
    ASSERT_TRUE(kept.connect(first));
    ASSERT_EQ(kept.get("/c/item", {{"Host", "api.test"}}).status, 200);

    proxy.rewrite_config(config_with(origin, kBefore).listeners(1)); // the second goes
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("(generation 2,", 5s)) << proxy.stderr_text();
    HttpClient gone;
    EXPECT_FALSE(gone.connect(second, 1s));                              // closed
    EXPECT_EQ(kept.get("/c/item", {{"Host", "api.test"}}).body, "item"); // same connection
    EXPECT_EQ(http_get(first, "/c/item", {{"Host", "api.test"}}).body, "item");

    proxy.rewrite_config(config_with(origin, kBefore).listeners(2)); // a new one opens
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("(generation 3,", 5s)) << proxy.stderr_text();
    std::vector<std::uint16_t> ports; // the listen line may follow the log line: asks for 5 s
    (void)eventually(5s, [&] { return (ports = printed_ports(proxy)).size() >= 3; });
    ASSERT_EQ(ports.size(), 3u) << proxy.stdout_text();
    EXPECT_EQ(http_get(ports[2], "/c/item", {{"Host", "api.test"}}).body, "item");
    EXPECT_EQ(kept.get("/c/item", {{"Host", "api.test"}}).body, "item");
    EXPECT_EQ(origin.count("/c/item"), 1u); // the cache stayed through both reloads
}

TEST(Reload, ASmallerMemoryBudgetEvictsDownToIt) {
    ScriptedOrigin origin;
    const std::string body(100 * 1024, 'm');
    origin.on_any([&](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, body);
    });
    LacquerProcess proxy(config_with(origin, kBefore));
    ASSERT_TRUE(proxy.started());
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(proxy.get("/c/o" + std::to_string(i), {{"Host", "api.test"}}).status, 200);
    }
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_store_objects", 20, 2s));

    proxy.rewrite_config(TestConfig()
                             .origin(origin.address())
                             .storage("memory", "1MiB")
                             .storage("max_object_size", "1MiB")
                             .workers(2)
                             .admin()
                             .extra(std::string(kBefore)));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("lacquerd: reloaded", 5s)) << proxy.stderr_text();
    const auto budget = scrape_metric(proxy.admin_port(), "lacquer_store_budget_bytes");
    const auto bytes = scrape_metric(proxy.admin_port(), "lacquer_store_bytes");
    const auto objects = scrape_metric(proxy.admin_port(), "lacquer_store_objects");
    ASSERT_TRUE(budget && bytes && objects);
    EXPECT_EQ(*budget, 1024.0 * 1024);
    EXPECT_LE(*bytes, 1024.0 * 1024);
    EXPECT_GE(*objects, 5.0); // evicted down to the budget, not emptied
    EXPECT_LE(*objects, 10.0);
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_store_evictions_total", 10, 2s));
}

} // namespace
} // namespace lacquer::test
