// Stopping never crashes (issue 15, item 8): an old generation may end in the very callback
// that closed one of its origin connections. That used to free the origin pool before the
// connection that refers to it (heap corruption; the ASan build turns it into a report): run
// this suite there too.
#include "cache_test_support.h"
#include "support/child_process.h"
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

// "exited 0", "exited 1", "killed by signal 6": what a failure message needs.
std::string describe(int status) {
    if (WIFEXITED(status)) {
        return "exited " + std::to_string(WEXITSTATUS(status));
    }
    return "killed by signal " + std::to_string(WTERMSIG(status));
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
