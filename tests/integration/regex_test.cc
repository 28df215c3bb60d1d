// Regular expressions where they meet request input (issue 15, item 5): a route's path_regex
// and an admin ban are RE2, linear in the input. With a backtracking engine, the pattern
// `^/rx/(\w+/?)*$` and a 35-byte path hold a worker (route) or the admin thread and a store
// shard's lock (ban) for minutes; here every answer comes within a few seconds.
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::string_view kNested = R"(^/rx/(\w+/?)*$)";
// 2^32 ways to split the a's for a backtracking engine; no way to match (the '!').
const std::string kCrafted = "/rx/" + std::string(32, 'a') + "!";

TEST(RouteRegex, APathologicalPathIsAnsweredPromptly) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, "origin " + x.request().path); });
    // One worker: a worker stuck in a match would leave nobody to answer.
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .workers(1)
                             .extra("routes:\n  - name: rx\n    match: { path_regex: '" +
                                    std::string(kNested) +
                                    "' }\n    pass: true\ndefault_route: reject\n"));
    ASSERT_TRUE(proxy.started());
    ASSERT_GE(kCrafted.size(), 35u);
    const Response crafted = proxy.get(kCrafted, {}, 3s);
    ASSERT_TRUE(crafted.complete) << crafted.summary() << " (the worker is still matching?)";
    EXPECT_EQ(crafted.status, 404); // no route matched: default_route reject
    const Response routed = proxy.get("/rx/aa/bb/", {}, 3s);
    EXPECT_EQ(routed.status, 200) << routed.summary();
    EXPECT_EQ(routed.body, "origin /rx/aa/bb/");
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(RouteRegex, CheckConfigRefusesWhatRe2CannotRunAtItsPosition) {
    const std::string base = "listen:\n  - address: 127.0.0.1:0\norigins:\n  api:\n"
                             "    servers:\n      - address: 127.0.0.1:9000\nroutes:\n"
                             "  - name: rx\n    match: { path_regex: '";
    const auto lookahead = LacquerProcess::run_check_config(base + "^/a(?=b)' }\n    pass: true\n");
    EXPECT_EQ(lookahead.exit_code, 2);
    EXPECT_THAT(lookahead.stderr_text,
                HasSubstr(lookahead.config_path + ":9:26: routes[0].match.path_regex: the regex "
                                                  "does not compile: lookaround (?= is not "
                                                  "supported"));
    const auto backreference =
        LacquerProcess::run_check_config(base + R"(^/(a)\1' })" + "\n    pass: true\n");
    EXPECT_EQ(backreference.exit_code, 2);
    EXPECT_THAT(backreference.stderr_text,
                HasSubstr(backreference.config_path + R"(:9:26: routes[0].match.path_regex: )"
                                                      R"(the regex does not compile: )"
                                                      R"(backreference \1 is not supported)"));
    const auto fine =
        LacquerProcess::run_check_config(base + "(?i)^/A/[0-9]+$' }\n    pass: true\n");
    EXPECT_EQ(fine.exit_code, 0) << fine.stderr_text;
}

} // namespace
} // namespace lacquer::test
