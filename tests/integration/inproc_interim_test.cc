// Interim responses (RFC 9110 §15.2): the origin's 1xx (103 Early Hints, 100, 102) reach an
// HTTP/1.1 client before the final answer, never an HTTP/1.0 one, and are never stored; a 101
// is never accepted for a proxied request (we never ask for an upgrade). For a cacheable fetch
// the 1xx go only to the client whose request caused the fetch: waiters get none.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;

constexpr std::string_view kRoutes = kCachedPassedRejected;
constexpr std::string_view kEarlyHints =
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n";

OriginHandler hinted(std::string label) {
    return [label = std::move(label)](OriginExchange& x) {
        x.send_raw(kEarlyHints);
        x.send_raw("HTTP/1.1 102 Processing\r\n\r\n");
        x.respond(200, {{"Cache-Control", "max-age=600"}}, label);
    };
}

TEST(InterimResponses, Rfc9110Section15_2EarlyHintsReachAnHttp11ClientBeforeTheAnswer) {
    ScriptedOrigin origin;
    origin.on_get("/c/hinted", hinted("cached body"));
    origin.on_get("/p/hinted", hinted("passed body"));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    for (const char* path : {"/c/hinted", "/p/hinted"}) {
        HttpClient client;
        ASSERT_TRUE(client.connect(proxy.port()));
        ASSERT_TRUE(client.send_raw(build_request("GET", path)));
        const Response hints = client.read_response();
        EXPECT_EQ(hints.status, 103) << path << ": " << hints.summary();
        EXPECT_EQ(hints.header("Link"), "</style.css>; rel=preload; as=style") << path;
        const Response processing = client.read_response();
        EXPECT_EQ(processing.status, 102) << path << ": " << processing.summary();
        const Response answer = client.read_response();
        EXPECT_EQ(answer.status, 200) << path << ": " << answer.summary();
        EXPECT_EQ(answer.body,
                  std::string_view(path) == "/c/hinted" ? "cached body" : "passed body");
    }
    // Never stored: the hit is the final answer alone.
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(build_request("GET", "/c/hinted")));
    const Response hit = client.read_response();
    EXPECT_EQ(hit.status, 200) << hit.summary();
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_FALSE(hit.has_header("Link"));
    EXPECT_EQ(origin.count("/c/hinted"), 1u);
}

TEST(InterimResponses, Rfc9110Section15_2OnlyTheClientThatCausedTheFetchGetsThem) {
    Gate release;
    ScriptedOrigin origin;
    origin.on_get("/c/shared", [&release](OriginExchange& x) {
        x.send_raw(kEarlyHints);
        (void)release.wait_for(10s);
        x.respond(200, {{"Cache-Control", "max-age=600"}}, "shared body");
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    HttpClient leader;
    ASSERT_TRUE(leader.connect(proxy.port()));
    // The Host ConcurrentGets sends: the host is part of the key.
    const std::string host = "127.0.0.1:" + std::to_string(proxy.port());
    ASSERT_TRUE(leader.send_raw(build_request("GET", "/c/shared", {}, {}, host)));
    ASSERT_TRUE(leader.received_contains("103 Early Hints", 5s));
    ConcurrentGets waiters(proxy.port(), "/c/shared", 3);
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 3, 10s));
    release.open();
    EXPECT_EQ(leader.read_response().status, 103);
    const Response answer = leader.read_response();
    EXPECT_EQ(answer.status, 200) << answer.summary();
    EXPECT_EQ(answer.body, "shared body");
    for (const Response& r : waiters.collect(10s)) {
        EXPECT_EQ(r.status, 200) << r.summary(); // a 103 first would be read as the answer
        EXPECT_EQ(r.body, "shared body");
        EXPECT_FALSE(r.has_header("Link"));
    }
    EXPECT_EQ(origin.count("/c/shared"), 1u);
}

TEST(InterimResponses, Rfc9110Section15_2NoInterimResponseForAnHttp10Client) {
    ScriptedOrigin origin;
    origin.on_get("/p/old", hinted("for 1.0"));
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw("GET /p/old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
    const Response answer = client.read_response();
    EXPECT_EQ(answer.status, 200) << answer.summary();
    EXPECT_EQ(answer.body, "for 1.0");
    EXPECT_EQ(client.received().find("103"), std::string::npos);
}

TEST(InterimResponses, Rfc9110Section15_2_2A101FromTheOriginIsABadResponse) {
    ScriptedOrigin origin;
    origin.on_get("/p/upgrade", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n\r\n");
        x.close();
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const Response answer = proxy.get("/p/upgrade");
    EXPECT_EQ(answer.status, 502) << answer.summary();
}

} // namespace
} // namespace lacquer::test
