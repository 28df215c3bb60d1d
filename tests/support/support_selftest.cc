// Tests of the test support library itself: if these lie, every integration test lies. Each test
// uses real loopback sockets and bounded waits; the whole suite runs in well under five seconds.
// The demo-origin tests run the lacquer-demo-origin of this build tree (or $LACQUER_DEMO_ORIGIN).
#include "support/demo_origin_process.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/listen_lines.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

namespace lacquer::test {
namespace {

using ::testing::HasSubstr;

Millis elapsed_since(SteadyClock::time_point start) {
    return std::chrono::duration_cast<Millis>(SteadyClock::now() - start);
}

TEST(Gate, OpenLetsWaitersThroughAndTimeoutSaysNo) {
    Gate gate;
    EXPECT_FALSE(gate.wait_for(10ms));
    std::thread opener([&] {
        ASSERT_TRUE(gate.wait_for_waiters(1, 2s));
        gate.open();
    });
    EXPECT_TRUE(gate.wait_for(2s));
    opener.join();
    EXPECT_TRUE(gate.wait_for(0ms)); // stays open
}

TEST(Gate, DestroyingTheGateReleasesItsWaiter) {
    auto gate = std::make_unique<Gate>();
    bool result = true;
    std::thread waiter([&] { result = gate->wait_for(10s); });
    ASSERT_TRUE(gate->wait_for_waiters(1, 2s));
    const auto start = SteadyClock::now();
    gate.reset(); // returns only once the waiter has left
    waiter.join();
    EXPECT_FALSE(result);
    EXPECT_LT(elapsed_since(start), 1s);
}

TEST(Barrier, CompletesWhenAllPartiesArrive) {
    Barrier barrier(3);
    std::thread a([&] { EXPECT_TRUE(barrier.arrive_and_wait(2s)); });
    std::thread b([&] { EXPECT_TRUE(barrier.arrive_and_wait(2s)); });
    barrier.arrive();
    EXPECT_TRUE(barrier.wait_for(2s));
    a.join();
    b.join();
    Barrier never(2);
    EXPECT_FALSE(never.arrive_and_wait(10ms));
}

TEST(ScriptedOrigin, KeepAliveServesSeveralRequestsOnOneConnection) {
    ScriptedOrigin origin;
    origin.on_get("/a", [](OriginExchange& x) { x.respond(200, {{"X-Kind", "a"}}, "first"); });
    origin.on_any([](OriginExchange& x) { x.send(201, "any " + x.request().target); });

    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port())) << client.last_error();
    const Response one = client.get("/a", {{"X-Test", "One"}});
    const Response two = client.get("/b?q=1");
    ASSERT_TRUE(one.complete) << one.summary();
    ASSERT_TRUE(two.complete) << two.summary();
    EXPECT_EQ(one.status, 200);
    EXPECT_EQ(one.body, "first");
    EXPECT_EQ(one.header("x-kind"), "a");
    EXPECT_EQ(two.status, 201);
    EXPECT_EQ(two.body, "any /b?q=1");

    EXPECT_EQ(origin.connections_accepted(), 1u);
    EXPECT_EQ(origin.total_requests(), 2u);
    EXPECT_EQ(origin.count("/a"), 1u);
    EXPECT_EQ(origin.count("/b?q=1"), 1u);
    const std::vector<ReceivedRequest> seen = origin.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].header("X-TEST"), "One");
    EXPECT_EQ(seen[1].path, "/b");
    EXPECT_EQ(seen[0].connection, seen[1].connection);
}

TEST(ScriptedOrigin, PathHandlerMatchesAnyQueryAndExactTargetWins) {
    ScriptedOrigin origin;
    origin.on_get("/p", [](OriginExchange& x) { x.send(200, "path"); });
    origin.on_get("/p?v=2", [](OriginExchange& x) { x.send(200, "exact"); });
    EXPECT_EQ(http_get(origin.port(), "/p?v=1").body, "path");
    EXPECT_EQ(http_get(origin.port(), "/p?v=2").body, "exact");
    const Response missing = http_get(origin.port(), "/nothing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_THAT(missing.body, HasSubstr("no handler for GET /nothing"));
}

TEST(ScriptedOrigin, ChunkedResponseAndChunkedRequestBody) {
    ScriptedOrigin origin;
    origin.on("POST", "/up", [](OriginExchange& x) {
        x.send_head(200, {{"Content-Type", "text/plain"}});
        x.send_body_chunk("got ");
        x.send_body_chunk(x.request().body);
        x.finish_body();
    });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    ASSERT_TRUE(client.send_raw("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    const Response response = client.read_response();
    ASSERT_TRUE(response.complete) << response.summary();
    EXPECT_TRUE(response.chunked);
    EXPECT_EQ(response.body, "got abcde");
    ASSERT_TRUE(origin.last_request().has_value());
    EXPECT_TRUE(origin.last_request()->chunked);
    EXPECT_EQ(origin.last_request()->body, "abcde");
    EXPECT_FALSE(client.is_closed_by_peer(20ms)); // still keep-alive
}

TEST(ScriptedOrigin, CloseDelimitedBodyEndsAtClose) {
    ScriptedOrigin origin;
    origin.on_get("/stream", [](OriginExchange& x) {
        x.send_head(200, {{"Connection", "close"}});
        x.send_body_chunk("part1,");
        x.send_body_chunk("part2");
    });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response response = client.get("/stream");
    ASSERT_TRUE(response.complete) << response.summary();
    EXPECT_FALSE(response.chunked);
    EXPECT_FALSE(response.has_header("Content-Length"));
    EXPECT_EQ(response.body, "part1,part2");
    EXPECT_TRUE(response.closed);
}

TEST(ScriptedOrigin, HeadResponseHasLengthButNoBody) {
    ScriptedOrigin origin;
    origin.on("HEAD", "/h", [](OriginExchange& x) { x.respond(200, {}, "twelve bytes"); });
    origin.on_get("/h", [](OriginExchange& x) { x.respond(200, {}, "after head"); });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response head = client.request("HEAD", "/h");
    ASSERT_TRUE(head.complete) << head.summary();
    EXPECT_EQ(head.header("Content-Length"), "12");
    EXPECT_EQ(head.body, "");
    const Response get = client.get("/h"); // framing stayed in step
    EXPECT_EQ(get.body, "after head");
}

TEST(ScriptedOrigin, NotModifiedCarriesNoFraming) {
    ScriptedOrigin origin;
    origin.on_get("/n", [](OriginExchange& x) { x.respond(304, {{"ETag", "\"v1\""}}); });
    origin.on_get("/s", [](OriginExchange& x) { x.send_head(204, {}); });
    origin.on_get("/after", [](OriginExchange& x) { x.send(200, "still in step"); });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response not_modified = client.get("/n");
    EXPECT_EQ(not_modified.status, 304) << not_modified.summary();
    EXPECT_FALSE(not_modified.has_header("Content-Length"));
    const Response no_content = client.get("/s");
    EXPECT_EQ(no_content.status, 204) << no_content.summary();
    EXPECT_FALSE(no_content.has_header("Transfer-Encoding"));
    EXPECT_EQ(client.get("/after").body, "still in step");
}

TEST(ScriptedOrigin, PipelinedRequestsAreAnsweredInOrder) {
    ScriptedOrigin origin;
    Gate first_may_answer;
    origin.on_get("/1", [&](OriginExchange& x) {
        EXPECT_TRUE(first_may_answer.wait_for(2s));
        x.send(200, "one");
    });
    origin.on_get("/2", [](OriginExchange& x) { x.send(200, "two"); });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    ASSERT_TRUE(client.send_raw(build_request("GET", "/1") + build_request("GET", "/2")));
    ASSERT_TRUE(first_may_answer.wait_for_waiters(1, 2s));
    first_may_answer.open();
    EXPECT_EQ(client.read_response().body, "one");
    EXPECT_EQ(client.read_response().body, "two");
}

TEST(ScriptedOrigin, SilentHandlerYields500AndCloseAndResetEndTheConnection) {
    ScriptedOrigin origin;
    origin.on_get("/silent", [](OriginExchange&) {});
    origin.on_get("/close", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        x.close();
    });
    origin.on_get("/reset", [](OriginExchange& x) { x.reset(); });

    const Response silent = http_get(origin.port(), "/silent");
    EXPECT_EQ(silent.status, 500);
    EXPECT_THAT(silent.body, HasSubstr("sent nothing"));

    const Response truncated = http_get(origin.port(), "/close");
    EXPECT_FALSE(truncated.complete);
    EXPECT_TRUE(truncated.closed);
    EXPECT_EQ(truncated.status, 0) << "an incomplete response is not reported as a status";

    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response reset = client.get("/reset");
    EXPECT_FALSE(reset.complete);
    EXPECT_TRUE(reset.closed);
    EXPECT_TRUE(client.is_closed_by_peer(0ms));
}

TEST(ScriptedOrigin, ConnectionCloseRequestIsHonoured) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.send(200, "bye"); });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response response = client.get("/x", {{"Connection", "close"}});
    EXPECT_EQ(response.body, "bye");
    EXPECT_TRUE(client.is_closed_by_peer(2s));
    EXPECT_TRUE(origin.wait_for_requests(1, 1s));
}

TEST(ScriptedOrigin, DestructionIsPromptWhileHandlersWaitOnGatesAndSleeps) {
    Gate never_opened; // declared before the origin: outlives it
    auto origin = std::make_unique<ScriptedOrigin>();
    origin->on_get("/gate", [&](OriginExchange& x) {
        (void)never_opened.wait_for(30s);
        x.send(200, "late");
    });
    origin->on_get("/sleep", [](OriginExchange& x) {
        (void)x.sleep_for(30s);
        x.send(200, "late");
    });
    HttpClient gated;
    HttpClient sleeping;
    HttpClient idle;
    ASSERT_TRUE(gated.connect(origin->port()));
    ASSERT_TRUE(sleeping.connect(origin->port()));
    ASSERT_TRUE(idle.connect(origin->port()));
    ASSERT_TRUE(gated.send_raw(build_request("GET", "/gate")));
    ASSERT_TRUE(sleeping.send_raw(build_request("GET", "/sleep")));
    ASSERT_TRUE(never_opened.wait_for_waiters(1, 2s));
    ASSERT_TRUE(origin->wait_for_count("/sleep", 1, 2s));

    const auto start = SteadyClock::now();
    origin.reset();
    EXPECT_LT(elapsed_since(start), 1s);
    EXPECT_TRUE(idle.is_closed_by_peer(1s));
}

TEST(ScriptedOrigin, WaitForCloseEndsWhenThePeerGoesAndSaysSoWhenItStays) {
    ScriptedOrigin origin;
    std::atomic<int> closed_seen{0};
    std::atomic<int> stayed_seen{0};
    origin.on_get("/stall",
                  [&](OriginExchange& x) { closed_seen += x.wait_for_close(10s) ? 1 : 0; });
    origin.on_get("/short", [&](OriginExchange& x) {
        stayed_seen += x.wait_for_close(100ms) ? 0 : 1;
        x.send(200, "still here");
    });
    for (const bool with_reset : {false, true}) {
        HttpClient client;
        ASSERT_TRUE(client.connect(origin.port()));
        ASSERT_TRUE(client.send_raw(build_request("GET", "/stall")));
        ASSERT_TRUE(origin.wait_for_count("/stall", with_reset ? 2 : 1, 2s));
        const auto start = SteadyClock::now();
        with_reset ? client.reset() : client.close();
        EXPECT_TRUE(eventually(5s, [&] { return closed_seen.load() == (with_reset ? 2 : 1); }));
        EXPECT_LT(elapsed_since(start), 2s)
            << "the stall ends with the connection, not the timeout";
    }
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    EXPECT_EQ(client.get("/short").body, "still here");
    EXPECT_EQ(stayed_seen.load(), 1);
}

TEST(Eventually, TrueOnceThePredicateHoldsFalseAtTheDeadline) {
    std::atomic<bool> flag{false};
    std::thread setter([&] {
        std::this_thread::sleep_for(30ms);
        flag.store(true);
    });
    EXPECT_TRUE(eventually(5s, [&] { return flag.load(); }));
    setter.join();
    const auto start = SteadyClock::now();
    EXPECT_FALSE(eventually(50ms, [] { return false; }));
    EXPECT_GE(elapsed_since(start), 50ms);
    EXPECT_LT(elapsed_since(start), 2s);
}

TEST(HttpClient, ConcurrentGetsAreInFlightTogether) {
    ScriptedOrigin origin;
    Barrier all_arrived(6);
    origin.on_get("/together", [&](OriginExchange& x) {
        // Passes only if all six requests reach the origin at the same time.
        const bool together = all_arrived.arrive_and_wait(3s);
        x.send(together ? 200 : 504, "ok");
    });
    const std::vector<Response> replies = get_concurrently(origin.port(), "/together", 6, 5s);
    ASSERT_EQ(replies.size(), 6u);
    for (const Response& reply : replies) {
        EXPECT_EQ(reply.status, 200) << reply.summary();
    }
    EXPECT_EQ(origin.connections_accepted(), 6u);
}

TEST(HttpClient, ConcurrentGetsCanBeCollectedAfterTheTestActs) {
    ScriptedOrigin origin;
    Gate release;
    origin.on_get("/held", [&](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(3s));
        x.send(200, "42");
    });
    ConcurrentGets gets(origin.port(), "/held", 4);
    ASSERT_TRUE(gets.wait_all_sent(2s));
    ASSERT_TRUE(release.wait_for_waiters(4, 2s));
    release.open();
    for (const Response& reply : gets.collect(3s)) {
        EXPECT_EQ(reply.body, "42") << reply.summary();
    }
}

TEST(HttpClient, ReadTimeoutIsReportedNotHung) {
    ScriptedOrigin origin;
    Gate never;
    origin.on_get("/slow", [&](OriginExchange& x) {
        (void)never.wait_for(2s);
        x.send(200, "late");
    });
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response response = client.request("GET", "/slow", {}, {}, 50ms);
    EXPECT_FALSE(response.complete);
    EXPECT_TRUE(response.timed_out);
    EXPECT_THAT(response.error, HasSubstr("no complete response within 50 ms"));
    never.open();
}

TEST(ListenLines, ParsesClientAndAdminListeners) {
    const std::string out = "listening on 127.0.0.1:4242 (worker threads: 3)\n"
                            "admin listening on 127.0.0.1:5353\n"
                            "listening on 127.0.0.1:"; // partial line: not yet
    const std::vector<ListenLine> lines = parse_listen_lines(out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].port, 4242);
    EXPECT_EQ(lines[0].worker_threads, 3);
    EXPECT_FALSE(lines[0].admin);
    EXPECT_TRUE(lines[1].admin);
    EXPECT_EQ(count_client_listeners(out), 1u);
}

TEST(MetricsScrape, SumsMatchingSamplesOnly) {
    const std::string text = "# HELP lacquer_hits_total Hits\n"
                             "lacquer_hits_total{route=\"a\"} 3\n"
                             "lacquer_hits_total{route=\"b\"} 4\n"
                             "lacquer_hits_total_extra 100\n"
                             "lacquer_misses_total 7\n";
    EXPECT_EQ(metric_value(text, "lacquer_hits_total"), 7.0);
    EXPECT_EQ(metric_value(text, "lacquer_hits_total", "route=\"b\""), 4.0);
    EXPECT_EQ(metric_value(text, "lacquer_misses_total"), 7.0);
    EXPECT_FALSE(metric_value(text, "lacquer_absent").has_value());
}

TEST(DemoStats, ParsesTheStatsShape) {
    std::string error;
    const auto stats = parse_demo_stats(
        R"({"requests":5,"connections":2,"by_target":{"/a?x=1":3,"/q\"uote":2}})", error);
    ASSERT_TRUE(stats.has_value()) << error;
    EXPECT_EQ(stats->requests, 5u);
    EXPECT_EQ(stats->connections, 2u);
    EXPECT_EQ(stats->by_target.at("/a?x=1"), 3u);
    EXPECT_EQ(stats->by_target.at("/q\"uote"), 2u);
    EXPECT_FALSE(parse_demo_stats("{\"requests\":", error).has_value());
}

TEST(TestConfig, BuildsTheMinimalShape) {
    const std::string yaml = TestConfig()
                                 .workers(3)
                                 .origin("127.0.0.1:9000")
                                 .origin_setting("connect_timeout: 200ms")
                                 .limit("max_header_bytes", "1KiB")
                                 .extra("routes: []")
                                 .yaml();
    EXPECT_THAT(yaml, HasSubstr("workers: 3\nlisten:\n  - address: 127.0.0.1:0\n"));
    EXPECT_THAT(yaml, HasSubstr("log: { access: off }\n"));
    EXPECT_THAT(yaml, HasSubstr("limits:\n  max_header_bytes: 1KiB\n"));
    EXPECT_THAT(yaml, HasSubstr("origins:\n  api:\n    servers:\n      - address: 127.0.0.1:9000\n"
                                "    connect_timeout: 200ms\n"));
    EXPECT_THAT(yaml, HasSubstr("routes: []\n"));
}

// A stand-in for lacquerd, so the process plumbing is tested without the real proxy.
std::string write_fake_lacquerd(const TempDir& dir) {
    const auto path = dir.write_file("fake-lacquerd", R"sh(#!/bin/sh
if [ "$1" = "--check-config" ]; then
  echo "$3:2:1: unknown key 'bogus'" >&2
  exit 2
fi
echo "starting" >&2
echo "listening on 127.0.0.1:4242 (worker threads: 2)"
exec sleep 30
)sh");
    ::chmod(path.c_str(), 0755);
    return path.string();
}

TEST(LacquerProcess, StartsReadsListenLinesSignalsAndReaps) {
    TempDir bin_dir;
    LacquerProcess::Options options;
    options.binary = write_fake_lacquerd(bin_dir);
    LacquerProcess proxy(TestConfig().origin("127.0.0.1:1"), options);
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.port(), 4242);
    EXPECT_EQ(proxy.address(), "127.0.0.1:4242");
    EXPECT_EQ(proxy.worker_threads(), 2);
    EXPECT_TRUE(proxy.wait_for_stderr("starting", 2s));
    EXPECT_TRUE(std::filesystem::exists(proxy.config_path()));
    EXPECT_FALSE(proxy.wait_exit(0ms).has_value());
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    const std::optional<int> status = proxy.wait_exit(2s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status));
    EXPECT_FALSE(proxy.send_signal(SIGTERM)) << "a reaped process must not be signalled";
}

TEST(LacquerProcess, CheckConfigReportsExitCodeAndStderr) {
    TempDir bin_dir;
    const auto result =
        LacquerProcess::run_check_config("bogus: 1\n", 5s, write_fake_lacquerd(bin_dir));
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.stderr_text, HasSubstr(result.config_path + ":2:1: unknown key"));
}

TEST(DemoOrigin, CountsPerTargetAndProvesASecondAnswerDiffers) {
    DemoOriginProcess origin;
    ASSERT_TRUE(origin.started());
    const Response first = http_get(origin.port(), "/v3/listings?limit=5", {{"X-Locale", "de"}});
    const Response second = http_get(origin.port(), "/v3/listings?limit=5");
    ASSERT_TRUE(first.complete) << first.summary();
    EXPECT_THAT(first.body, HasSubstr(R"("query":"limit=5","locale":"de")"));
    EXPECT_THAT(first.body, HasSubstr(R"("served":1)"));
    EXPECT_THAT(second.body, HasSubstr(R"("served":2)"));
    EXPECT_EQ(first.header("Cache-Control"), "max-age=60");
    EXPECT_EQ(origin.count("/v3/listings?limit=5"), 2u);
    ASSERT_TRUE(origin.reset_stats());
    const auto stats = origin.stats();
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->requests, 0u);
    EXPECT_TRUE(stats->by_target.empty());
}

TEST(DemoOrigin, ControlParametersShapeTheAnswer) {
    DemoOriginProcess origin;
    ASSERT_TRUE(origin.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(origin.port()));
    const Response sized = client.get("/s?size=1000&cc=no-store%2C%20private&status=203");
    EXPECT_EQ(sized.status, 203);
    EXPECT_EQ(sized.body.size(), 1000u);
    EXPECT_EQ(sized.header("Cache-Control"), "no-store, private");
    const Response chunked = client.get("/c?chunked=1&size=300");
    EXPECT_TRUE(chunked.chunked);
    EXPECT_EQ(chunked.body.size(), 300u);
    const Response tagged = client.get("/e?etag=1");
    ASSERT_TRUE(tagged.has_header("ETag"));
    const Response revalidated =
        client.get("/e?etag=1", {{"If-None-Match", tagged.header("ETag")}});
    EXPECT_EQ(revalidated.status, 304);
    const Response posted = client.request("POST", "/p", {}, "hello");
    EXPECT_THAT(posted.body, HasSubstr(R"("body_length":5)"));
    EXPECT_THAT(posted.body, HasSubstr(R"("body_fnv1a64":"a430d84680aabd0b")"));
    const Response closing = client.get("/z?close=1");
    EXPECT_EQ(closing.header("Connection"), "close");
    EXPECT_TRUE(client.is_closed_by_peer(2s));
}

} // namespace
} // namespace lacquer::test
