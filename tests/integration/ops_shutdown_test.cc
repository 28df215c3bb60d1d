// Stopping never crashes (issue 15, item 8): SIGTERM with origin fetches that outlive
// limits.drain_timeout cuts them at the deadline, logs each one (stderr, and the access log with
// 503), and exits 0; an old generation may end in the very callback that closed one of its
// origin connections. Both used to free origin pools before the connections that refer to
// them (heap corruption; the ASan build turns it into a report): run this suite there too.
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/deadline.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
default_route: reject
)";

std::size_t occurrences(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// "exited 0", "exited 1", "killed by signal 6": what a failure message needs.
std::string describe(int status) {
    if (WIFEXITED(status)) {
        return "exited " + std::to_string(WEXITSTATUS(status));
    }
    return "killed by signal " + std::to_string(WTERMSIG(status));
}

TEST(OpsStop, SigtermPastTheDrainTimeoutCutsEachRequestLogsItAndExitsZero) {
    ScriptedOrigin origin;
    Gate late; // the origin answers only when the test ends: far past the drain
    origin.on_any([&](OriginExchange& x) {
        (void)late.wait_for(20s);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "too late");
    });
    TempDir dir;
    const std::filesystem::path access = dir.path() / "access.log";
    LacquerProcess proxy(caching_config(origin, kRoutes)
                             .workers(2)
                             .admin()
                             .access_log(access.string())
                             .limit("drain_timeout", "300ms"));
    ASSERT_TRUE(proxy.started());
    // Pass fetches, and a cache fill with two requests waiting for it (coalesced).
    ConcurrentGets passed(proxy.port(), "/p/slow", 2, kApiHost, 10s);
    ASSERT_TRUE(origin.wait_for_count("/p/slow", 2, 5s));
    ConcurrentGets cached(proxy.port(), "/c/slow", 3, kApiHost, 10s);
    ASSERT_TRUE(origin.wait_for_count("/c/slow", 1, 5s));
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 2, 5s));

    const auto signalled = std::chrono::steady_clock::now();
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    const std::optional<int> status = proxy.wait_exit(10s);
    const auto stopped_after = std::chrono::steady_clock::now() - signalled;
    ASSERT_TRUE(status.has_value()) << "still running 10 s after SIGTERM";
    const std::string err = proxy.stderr_text();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe(*status) << "\n"
                                                                 << err;
    EXPECT_GE(stopped_after, 300ms); // the requests had their drain_timeout
    EXPECT_EQ(occurrences(err, "lacquerd: drain_timeout passed, request cut: GET /p/slow from "
                               "127.0.0.1 after "),
              2u)
        << err;
    EXPECT_EQ(occurrences(err, "lacquerd: drain_timeout passed, request cut: GET /c/slow from "
                               "127.0.0.1 after "),
              3u)
        << err;
    EXPECT_THAT(err, HasSubstr(" ms (no answer yet)\n"));
    const std::string log = read_file(access);
    EXPECT_EQ(occurrences(log, "\"GET /p/slow HTTP/1.1\" 503 "), 2u) << log;
    EXPECT_EQ(occurrences(log, "\"GET /c/slow HTTP/1.1\" 503 "), 3u) << log;
    for (const Response& r : passed.collect(5s)) {
        EXPECT_FALSE(r.complete) << r.summary(); // cut, never a complete-looking answer
    }
    for (const Response& r : cached.collect(5s)) {
        EXPECT_FALSE(r.complete) << r.summary();
    }
    late.open();
}

// Halfway at the deadline: an answer the cache will not store streams through its fill (the
// head is out, the body stalls), and an admin connection is open. The cut deletes the session,
// which ends the fill; both are deleted exactly once, before what they refer to.
TEST(OpsStop, WhatIsHalfwayAtTheDeadlineEndsOnceAndCleanly) {
    ScriptedOrigin origin;
    Gate late;
    origin.on_any([&](OriginExchange& x) {
        x.send_head(200, {{"Cache-Control", "no-store"}, {"Content-Length", "100"}});
        x.send_body_chunk("first ten.");
        (void)late.wait_for(20s); // the other 90 bytes never come in time
    });
    LacquerProcess proxy(
        caching_config(origin, kRoutes).workers(1).admin().limit("drain_timeout", "300ms"));
    ASSERT_TRUE(proxy.started());
    HttpClient streaming;
    ASSERT_TRUE(streaming.connect(proxy.port()));
    ASSERT_TRUE(streaming.send_raw(build_request("GET", "/c/stall", kApiHost)));
    ASSERT_TRUE(streaming.received_contains("first ten.", 5s)) << streaming.received();
    HttpClient admin; // connected, nothing sent yet
    ASSERT_TRUE(admin.connect(proxy.admin_port()));

    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    const std::optional<int> status = proxy.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "still running 10 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe(*status) << "\n"
                                                                 << proxy.stderr_text();
    EXPECT_THAT(proxy.stderr_text(), HasSubstr("request cut: GET /c/stall from 127.0.0.1 after "));
    EXPECT_THAT(proxy.stderr_text(), HasSubstr(" ms (answer started, not finished)\n"));
    const Response cut = streaming.read_response(5s);
    EXPECT_FALSE(cut.complete) << cut.summary(); // 10 of 100 bytes: visibly cut
    late.open();
}

TEST(OpsStop, RequestsThatFinishWithinTheDrainTimeoutAreNotCut) {
    ScriptedOrigin origin;
    Gate answer;
    origin.on_any([&](OriginExchange& x) {
        (void)answer.wait_for(5s);
        x.respond(200, {}, "in time");
    });
    LacquerProcess proxy(
        caching_config(origin, kRoutes).workers(1).limit("drain_timeout", "5s").admin());
    ASSERT_TRUE(proxy.started());
    HttpClient busy;
    ASSERT_TRUE(busy.connect(proxy.port()));
    ASSERT_TRUE(busy.send_raw(build_request("GET", "/p/slow", kApiHost)));
    ASSERT_TRUE(origin.wait_for_count("/p/slow", 1, 5s));
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    // Not ready any more while it drains; the answer still comes.
    HttpClient readiness;
    (void)eventually(5s, [&] {
        return readiness.connect(proxy.admin_port()) &&
               readiness.get("/readyz", {}, 1s).status == 503;
    });
    answer.open();
    const Response r = busy.read_response(5s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.body, "in time");
    const std::optional<int> status = proxy.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe(*status);
    EXPECT_THAT(proxy.stderr_text(), ::testing::Not(HasSubstr("request cut")));
}

// A request that started before a reload keeps the old generation; its origin answers with
// Connection: close, so the pool closes that connection after the callback, and the request's
// end (the same callback) ends the old generation and its pools. The closed connection must not
// refer to its pool any more by then.
TEST(ReloadTeardown, AnOldGenerationEndsBesideAnOriginConnectionItClosed) {
    ScriptedOrigin origin;
    Gate gate;
    origin.on_get("/p/slow", [&](OriginExchange& x) {
        (void)gate.wait_for(5s);
        x.respond(200, {{"Connection", "close"}}, "closing answer");
    });
    origin.on_get("/p/next", [](OriginExchange& x) { x.respond(200, {}, "next"); });
    const TestConfig config = caching_config(origin, kRoutes).workers(1).admin();
    LacquerProcess proxy(config);
    ASSERT_TRUE(proxy.started());
    HttpClient busy;
    ASSERT_TRUE(busy.connect(proxy.port()));
    ASSERT_TRUE(busy.send_raw(build_request("GET", "/p/slow", kApiHost)));
    ASSERT_TRUE(origin.wait_for_count("/p/slow", 1, 5s));
    proxy.rewrite_config(config);
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("lacquerd: reloaded", 5s)) << proxy.stderr_text();
    gate.open();
    const Response r = busy.read_response(5s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.body, "closing answer");
    // The next request on that keep-alive connection runs on the new generation.
    const Response next = busy.get("/p/next", kApiHost);
    EXPECT_EQ(next.body, "next") << next.summary() << "\n" << proxy.stderr_text();
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    const std::optional<int> status = proxy.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe(*status) << "\n"
                                                                 << proxy.stderr_text();
}

} // namespace
} // namespace lacquer::test
