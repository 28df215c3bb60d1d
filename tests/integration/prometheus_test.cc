// lacquerd under a real Prometheus: the live /metrics passes `promtool check metrics`; a
// Prometheus server scraping the admin listener every second answers every expression of the
// shipped Grafana dashboard (packaging/grafana/lacquer.json), reports the hit ratio of the traffic
// that was sent, exactly, and evaluates the shipped alert rules without errors. Bounded waits on
// Prometheus' own answers; the only sleeps wait out max-age=1 objects.
#include "prometheus_server.h"
#include "support/deadline.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/listen_lines.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iostream>
#include <string>
#include <thread>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kStored = "lacquer; fwd=uri-miss; stored";
constexpr std::string_view kHit = "lacquer; hit";
constexpr std::string_view kBypass = "lacquer; fwd=bypass";

// "short" objects (max-age=1) are served stale while one refresh runs; "fragile" ones (also
// max-age=1) leave that window after 1 s and are then served only if the origin fails.
constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: short
    match: { path_prefix: /s/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
  - name: fragile
    match: { path_prefix: /f/ }
    cache: { key_params: all, ttl: 60s, stale: 1s, stale_if_error: 10m }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
  - name: broken
    match: { path_prefix: /b/ }
    origin: dead
    pass: true
)";

// The pools of kRoutes: the scripted origin, and "dead", a port nobody listens on (a pass route
// there answers 502 at once: its errors must not count against any hit ratio).
std::string pools(const ScriptedOrigin& origin) {
    return "origins:\n  api:\n    servers:\n      - address: " + origin.address() +
           "\n  dead:\n    servers:\n      - address: 127.0.0.1:1\n";
}

// Every series of the job, summed: what Prometheus has ingested of the client requests.
constexpr std::string_view kRequestsSeen = R"(sum(lacquer_requests_total{job="lacquer"}))";
// The time of the last scrape: `up` is written with the scrape's own timestamp.
constexpr std::string_view kLastScrape = R"(timestamp(up{job="lacquer"}))";

std::string dashboard_path() {
    return source_dir() + "/packaging/grafana/lacquer.json";
}

std::string check_dashboard_script() {
    return source_dir() + "/packaging/tools/check_dashboard.py";
}

// The admin port from lacquerd's "admin listening on" line (it follows the client lines).
std::uint16_t admin_port_of(LacquerProcess& proxy) {
    if (proxy.admin_port() != 0) {
        return proxy.admin_port();
    }
    if (!proxy.wait_for_stdout("admin listening on", 5s)) {
        ADD_FAILURE() << "lacquerd printed no 'admin listening on' line:\n" << proxy.stdout_text();
        return 0;
    }
    for (const ListenLine& line : parse_listen_lines(proxy.stdout_text())) {
        if (line.admin) {
            return line.port;
        }
    }
    return 0;
}

// lacquerd's own count of requests with `cache_status`, once it has reached `expected` (requests
// are counted when they finish, which may be just after the client has read the answer).
double requests_counted(std::uint16_t admin, std::string_view cache_status, double expected) {
    const std::string filter = "cache_status=\"" + std::string(cache_status) + "\"";
    (void)wait_for_metric(admin, "lacquer_requests_total", expected, 5s, filter);
    return scrape_metric(admin, "lacquer_requests_total", filter).value_or(-1);
}

// The timestamp (as Prometheus prints it) of the first scrape later than `after`.
std::string next_scrape_after(const PrometheusServer& prometheus, std::string_view after) {
    const std::int64_t after_ms = after.empty() ? -1 : unix_millis(after);
    std::optional<std::string> scraped_at;
    const bool scraped =
        eventually(10s, [&] { // polling Prometheus, not synchronising with lacquerd
            const std::optional<PromSample> last = prometheus.query_one(kLastScrape);
            if (last && unix_millis(last->value_text) > after_ms) {
                scraped_at = last->value_text;
            }
            return scraped_at.has_value();
        });
    if (!scraped) {
        ADD_FAILURE() << "prometheus scraped nothing after " << after << " within 10 s";
        return {};
    }
    return *scraped_at;
}

// One panel's expression from the dashboard, evaluated by Prometheus through the checker.
std::optional<double> dashboard_value(const PrometheusServer& prometheus, std::string_view title,
                                      std::string_view at, const std::vector<std::string>& sets) {
    std::vector<std::string> args{check_dashboard_script(), "value",          dashboard_path(),
                                  "--prometheus",           prometheus.url(), "--title",
                                  std::string(title),       "--time",         std::string(at)};
    for (const std::string& set : sets) {
        args.push_back("--set");
        args.push_back(set);
    }
    const ToolRun run = run_tool(python3_binary(), args);
    if (run.exit_code != 0) {
        ADD_FAILURE() << "check_dashboard.py value --title '" << title << "': " << run.summary();
        return std::nullopt;
    }
    return std::strtod(run.stdout_text.c_str(), nullptr);
}

std::string last_line(std::string_view text) {
    while (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    const std::size_t newline = text.rfind('\n');
    return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

void sleep_until(Clock::time_point when) {
    std::this_thread::sleep_until(when); // waits out a max-age; not a synchronisation
}

TEST(Prometheus, LiveMetricsPassPromtoolCheckMetrics) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
    });
    LacquerProcess proxy(TestConfig().admin().extra(pools(origin)).extra(std::string(kRoutes)));
    ASSERT_TRUE(proxy.started());
    const std::uint16_t admin = admin_port_of(proxy);
    ASSERT_NE(admin, 0);
    // Histograms and counters with values, not only the zeros of a fresh process.
    ASSERT_EQ(proxy.get("/c/one").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/c/one").header("Cache-Status"), kHit);
    ASSERT_EQ(proxy.get("/p/one").header("Cache-Status"), kBypass);
    ASSERT_EQ(requests_counted(admin, "pass", 1), 1);

    const Response metrics = http_get(admin, "/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.summary();
    EXPECT_THAT(metrics.header("Content-Type"), HasSubstr("text/plain"));
    TempDir dir("lacquer-metrics");
    const std::filesystem::path file = dir.write_file("metrics.txt", metrics.body);
    const std::string promtool = promtool_binary();
    ASSERT_FALSE(promtool.empty());
    // promtool reads the exposition from stdin; exit 0 means it parsed and had no lint to report.
    const ToolRun run =
        run_tool("/bin/sh", {"-c", "exec \"$0\" check metrics < \"$1\"", promtool, file.string()});
    EXPECT_EQ(run.exit_code, 0) << run.summary() << "\n/metrics:\n" << metrics.body;

    // The contract that the dashboard lint holds the dashboard and the alert rules to is the
    // one lacquerd serves: every name in it has samples.
    const ToolRun contract = run_tool(python3_binary(), {check_dashboard_script(), "contract"});
    ASSERT_EQ(contract.exit_code, 0) << contract.summary();
    std::size_t names = 0;
    for (std::string_view rest = contract.stdout_text; !rest.empty();) {
        const std::size_t end = std::min(rest.find('\n'), rest.size());
        const std::string name(rest.substr(0, end));
        rest.remove_prefix(std::min(end + 1, rest.size()));
        if (!name.empty()) {
            ++names;
            EXPECT_TRUE(metric_value(metrics.body, name)) << name << " is not in /metrics";
        }
    }
    EXPECT_GE(names, 30u);
}

TEST(Prometheus, DashboardAnswersEveryQueryAndTheHitRatioOfTheTrafficSent) {
    Gate slow_held; // /c/slow stays at the origin until the other requests wait on it
    ScriptedOrigin origin;
    std::atomic<bool> fragile_down{false};
    origin.on_any([&](OriginExchange& x) {
        const std::string& path = x.request().path;
        if (path.starts_with("/f/") && fragile_down) {
            x.close(); // a transport failure: lacquer_origin_errors_total, then stale-if-error
            return;
        }
        if (path.starts_with("/c/big/")) {
            x.respond(200, {{"Cache-Control", "max-age=600"}}, std::string(128 * 1024, 'b'));
            return;
        }
        if (path == "/c/slow") {
            (void)slow_held.wait_for(10s);
        }
        const bool short_lived = path.starts_with("/s/") || path.starts_with("/f/");
        x.respond(200, {{"Cache-Control", short_lived ? "max-age=1" : "max-age=600"}},
                  "body of " + path);
    });
    LacquerProcess proxy(TestConfig()
                             .workers(2)
                             .storage("memory", "1MiB")
                             .storage("max_object_size", "256KiB")
                             .admin()
                             .extra(pools(origin))
                             .extra(std::string(kRoutes)));
    ASSERT_TRUE(proxy.started());
    const std::uint16_t admin = admin_port_of(proxy);
    ASSERT_NE(admin, 0);
    const std::string alerts = source_dir() + "/packaging/prometheus/lacquer-alerts.yml";
    PrometheusServer prometheus(PrometheusServer::Options{
        .targets = {"127.0.0.1:" + std::to_string(admin)}, .rule_files = {alerts}});
    ASSERT_TRUE(prometheus.started());
    ASSERT_TRUE(prometheus.wait_for_value(R"(up{job="lacquer"})", 1, 15s))
        << "prometheus never scraped lacquerd's admin listener";

    // Phase 1, before the measurement: every series the measurement moves has counted at least
    // once, objects for the stale answers are stored and have expired. 9 requests.
    const auto stored_at = Clock::now();
    for (const char* path : {"/s/w", "/s/x", "/s/y", "/s/z", "/f/e", "/c/w"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored) << path;
    }
    ASSERT_EQ(proxy.get("/c/w").header("Cache-Status"), kHit);
    ASSERT_EQ(proxy.get("/p/w").header("Cache-Status"), kBypass);
    sleep_until(stored_at + 1200ms); // past max-age=1, inside stale: 10m
    const Response first_stale = proxy.get("/s/w");
    ASSERT_EQ(first_stale.status, 200) << first_stale.summary();
    ASSERT_THAT(first_stale.header("Cache-Status"), HasSubstr("hit"));
    ASSERT_EQ(requests_counted(admin, "stale", 1), 1);

    ASSERT_TRUE(prometheus.wait_for_value(kRequestsSeen, 9, 15s));
    // t0: a scrape with the 9 requests and with a scrape before it that had them too, so every
    // series has samples at the same times throughout the window used below.
    const std::string t0 = next_scrape_after(
        prometheus, prometheus.query_one(kLastScrape).value_or(PromSample{}).value_text);
    ASSERT_FALSE(t0.empty());

    // Phase 2, measured: 4 misses, 6 hits, 3 stale (cacheable: 13, from the cache: 9), 3 pass,
    // and 2 errors of a pass route whose origin is down (no cache's miss: not in the ratio).
    for (const char* path : {"/c/m1", "/c/m2", "/c/m3", "/c/m4"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored) << path;
    }
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(proxy.get("/c/m1").header("Cache-Status"), kHit);
        ASSERT_EQ(proxy.get("/c/m2").header("Cache-Status"), kHit);
        ASSERT_EQ(proxy.get("/p/a").header("Cache-Status"), kBypass);
    }
    for (const char* path : {"/s/x", "/s/y", "/s/z"}) {
        const Response stale = proxy.get(path);
        ASSERT_EQ(stale.body, "body of " + std::string(path)) << stale.summary();
        ASSERT_THAT(stale.header("Cache-Status"), HasSubstr("hit")) << path;
    }
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(proxy.get("/b/down").status, 502);
    }
    // lacquerd's own counters first: a mismatch below is then the dashboard's, not lacquerd's.
    EXPECT_EQ(requests_counted(admin, "miss", 10), 10);
    EXPECT_EQ(requests_counted(admin, "hit", 7), 7);
    EXPECT_EQ(requests_counted(admin, "stale", 4), 4);
    EXPECT_EQ(requests_counted(admin, "pass", 4), 4);
    EXPECT_EQ(requests_counted(admin, "error", 2), 2);
    EXPECT_EQ(scrape_metric(admin, "lacquer_requests_total"), 27);

    ASSERT_TRUE(prometheus.wait_for_value(kRequestsSeen, 27, 15s));
    const std::string t1 = next_scrape_after(prometheus, t0);
    ASSERT_FALSE(t1.empty());
    const std::optional<PromSample> at_t1 = prometheus.query_one(kRequestsSeen, t1);
    ASSERT_TRUE(at_t1);
    ASSERT_EQ(at_t1->value, 27) << "the scrape at " << t1 << " must hold all of phase 2";

    // The dashboard's own expressions over exactly the samples t0..t1: the window starts 50 ms
    // before t0 (after the scrape before it), so every series is extrapolated alike and the
    // ratio of the rates is the ratio of the increases.
    const std::string window =
        "__rate_interval=" + std::to_string(unix_millis(t1) - unix_millis(t0) + 50) + "ms";
    const std::optional<double> overall = dashboard_value(prometheus, "Hit ratio", t1, {window});
    ASSERT_TRUE(overall);
    EXPECT_NEAR(*overall, 9.0 / 13.0, 1e-9);
    const std::optional<double> cached =
        dashboard_value(prometheus, "Hit ratio by route", t1, {window, "route=cached"});
    ASSERT_TRUE(cached);
    EXPECT_NEAR(*cached, 6.0 / 10.0, 1e-9);
    const std::optional<double> short_route =
        dashboard_value(prometheus, "Hit ratio by route", t1, {window, "route=short"});
    ASSERT_TRUE(short_route);
    EXPECT_NEAR(*short_route, 1.0, 1e-9);
    // What clients got in phase 2: 2 of its 18 answers were 5xx, all on "broken".
    const std::optional<double> broken_5xx =
        dashboard_value(prometheus, "Client 5xx ratio", t1, {window, "route=broken"});
    ASSERT_TRUE(broken_5xx);
    EXPECT_NEAR(*broken_5xx, 1.0, 1e-9);
    const std::optional<double> cached_5xx =
        dashboard_value(prometheus, "Client 5xx ratio", t1, {window, "route=cached"});
    ASSERT_TRUE(cached_5xx);
    EXPECT_NEAR(*cached_5xx, 0.0, 1e-9);
    // The same ratios through the recording rules the alerts use (5m windows: phase 1 and 2).
    EXPECT_TRUE(prometheus.wait_for_value(
        R"(count(job:lacquer_client_5xx_ratio:rate5m{job="lacquer"} > 0))", 1, 15s));

    // Phase 3: coalescing, a stale answer because the origin failed, evictions.
    {
        ConcurrentGets gets(proxy.port(), "/c/slow", 10);
        ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 9, 10s));
        slow_held.open();
        for (const Response& r : gets.collect(10s)) {
            ASSERT_EQ(r.body, "body of /c/slow") << r.summary();
        }
    }
    EXPECT_EQ(origin.count("/c/slow"), 1u);
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 1, 5s));
    fragile_down = true;
    sleep_until(stored_at + 2300ms); // past max-age=1 + stale: 1s, inside stale_if_error: 10m
    const Response rescued = proxy.get("/f/e");
    EXPECT_EQ(rescued.status, 200) << rescued.summary();
    EXPECT_EQ(rescued.body, "body of /f/e");
    EXPECT_TRUE(
        proxy.wait_for_metric("lacquer_stale_served_total", 1, 5s, R"(reason="origin_error")"));
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_origin_errors_total", 1, 5s));
    for (int i = 0; i < 12; ++i) { // 1.5 MiB of objects for a 1 MiB budget
        const std::string path = "/c/big/" + std::to_string(i);
        ASSERT_EQ(proxy.get(path).body.size(), 128u * 1024) << path;
    }
    EXPECT_TRUE(proxy.wait_for_metric("lacquer_store_evictions_total", 1, 5s));

    const double total = scrape_metric(admin, "lacquer_requests_total").value_or(0);
    ASSERT_TRUE(prometheus.wait_for_value(kRequestsSeen, total, 15s));
    ASSERT_TRUE(
        prometheus.wait_for_value(R"(sum(lacquer_store_evictions_total{job="lacquer"}))", 1, 15s));

    // Every panel expression and every variable query, variables as Grafana's "All" (.*) and
    // $__rate_interval 1m, returns data.
    const ToolRun all =
        run_tool(python3_binary(), {check_dashboard_script(), "query", dashboard_path(),
                                    "--prometheus", prometheus.url()});
    EXPECT_EQ(all.exit_code, 0) << all.summary();
    std::cout << "[dashboard] " << last_line(all.stdout_text) << "\n";

    // The alert rules run against the live series: no evaluation errors; serving stale because
    // of the origin error makes its alert pending (for: 5m); nothing says lacquerd is down.
    ASSERT_TRUE(prometheus.wait_for_value(
        R"(count(ALERTS{alertname="LacquerServingStaleOnOriginError"}))", 1, 15s));
    const std::string rules = prometheus.get("/api/v1/rules");
    EXPECT_THAT(rules, HasSubstr(R"("health":"ok")"));
    EXPECT_THAT(rules, Not(HasSubstr(R"("health":"err")"))) << rules;
    const PromQueryResult down =
        prometheus.query(R"(ALERTS{alertname=~"LacquerDown|LacquerNotReady"})");
    EXPECT_TRUE(down.ok && down.samples.empty()) << down.body;

    // And when lacquerd goes away, `up` drops and LacquerDown goes pending.
    ASSERT_TRUE(proxy.send_signal(SIGKILL));
    ASSERT_TRUE(proxy.wait_exit(5s));
    EXPECT_TRUE(prometheus.wait_for_value(R"(count(up{job="lacquer"} == 0))", 1, 15s));
    EXPECT_TRUE(prometheus.wait_for_value(R"(count(ALERTS{alertname="LacquerDown"}))", 1, 15s));
}

} // namespace
} // namespace lacquer::test
