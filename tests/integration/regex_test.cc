// Regular expressions where they meet request input (issue 15, item 5): a route's path_regex
// and an admin ban are RE2, linear in the input. With a backtracking engine, the pattern
// `^/rx/(\w+/?)*$` and a 35-byte path hold a worker (route) or the admin thread and a store
// shard's lock (ban) for minutes; here every answer comes within a few seconds.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace cache_test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::string_view kNested = R"(^/rx/(\w+/?)*$)";
// 2^32 ways to split the a's for a backtracking engine; no way to match (the '!').
const std::string kCrafted = "/rx/" + std::string(32, 'a') + "!";

std::string percent_encoded(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 15]);
        }
    }
    return out;
}

Response admin_request(std::uint16_t port, std::string_view method, std::string_view target,
                       Millis timeout = 5s) {
    HttpClient client;
    if (!client.connect(port, timeout)) {
        return {};
    }
    return client.request(method, target, {}, {}, timeout);
}

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

TEST(AdminBan, APathologicalPatternNeitherStallsHealthzNorHitsOfTheShardItSweeps) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=600"}}, "body of " + x.request().path);
    });
    LacquerProcess proxy(caching_config(origin, "routes:\n  - name: rx\n    match: { path_prefix: "
                                                "/rx/ }\n    cache: { key_params: all }\n")
                             .admin());
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get(kCrafted, kApiHost).header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/rx/aa/bb/", kApiHost).header("Cache-Status"), kStored);

    HttpClient ban;
    ASSERT_TRUE(ban.connect(proxy.admin_port()));
    ASSERT_TRUE(ban.send_raw(build_request("POST", "/ban?regex=" + percent_encoded(kNested),
                                           {{"Content-Length", "0"}})));
    // The ban is in flight or done: /healthz (same admin thread) and hits of the crafted object
    // (the shard the ban sweeps) are answered within a bound, again and again.
    for (int i = 0; i < 10; ++i) {
        const Response health = admin_request(proxy.admin_port(), "GET", "/healthz", 2s);
        ASSERT_TRUE(health.complete) << "probe " << i << ": /healthz " << health.summary();
        EXPECT_EQ(health.status, 200);
        const Response hit = proxy.get(kCrafted, kApiHost, 2s);
        ASSERT_TRUE(hit.complete) << "probe " << i << ": hit " << hit.summary();
        EXPECT_EQ(hit.header("Cache-Status"), kHit);
    }
    const Response banned = ban.read_response(5s);
    ASSERT_TRUE(banned.complete) << banned.summary();
    EXPECT_EQ(banned.body, "{\"banned\": 1}\n"); // /rx/aa/bb/ only: '!' is not \w
    EXPECT_EQ(proxy.get("/rx/aa/bb/", kApiHost).header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get(kCrafted, kApiHost).header("Cache-Status"), kHit);
}

TEST(AdminBan, APatternRe2CannotRunIsRefusedWithTheReason) {
    ScriptedOrigin origin;
    LacquerProcess proxy(caching_config(origin).admin());
    ASSERT_TRUE(proxy.started());
    const Response lookahead =
        admin_request(proxy.admin_port(), "POST", "/ban?regex=" + percent_encoded("^/a(?=b)"));
    EXPECT_EQ(lookahead.status, 400);
    EXPECT_THAT(lookahead.body, HasSubstr("the regex does not compile: lookaround (?= is not "
                                          "supported"));
    const Response too_long =
        admin_request(proxy.admin_port(), "POST", "/ban?regex=" + std::string(1025, 'a'));
    EXPECT_EQ(too_long.status, 400);
    EXPECT_THAT(too_long.body, HasSubstr("longer than 1024 bytes"));
}

} // namespace
} // namespace lacquer::test
