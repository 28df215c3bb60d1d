// Waiters share the leader's answer as it arrives: a request that joined another's fetch gets
// the head and the body bytes already received while the origin is still sending the rest
// (Content-Length, chunked, and close-delimited for HTTP/1.0), a HEAD waiter gets the head
// once the object is complete, a leader that fails mid-body ends the waiters' answers
// unfinished and stores nothing, and a wait for a head that does not come is bounded by the
// route's wait_timeout. Real lacquerd (two workers), scripted origin held by a gate.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: waits
    match: { path_prefix: /w/ }
    cache: { key_params: all, ttl: 60s, wait_timeout: 400ms }
)";

// A client whose request is in flight: connected and sent, the answer not read yet.
HttpClient send_get(std::uint16_t port, std::string_view target, std::string_view method = "GET") {
    HttpClient client;
    EXPECT_TRUE(client.connect(port));
    EXPECT_TRUE(client.send_raw(build_request(method, target, kApiHost)));
    return client;
}

// The origin answers `target`'s first request with "12345", holds the rest until `gate`
// opens, then sends "67890" (or closes, when `fail`); later requests get "later".
void half_then_gate(ScriptedOrigin& origin, std::string target, Gate& gate, bool chunked,
                    bool fail = false) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    origin.on_get(target, [&gate, calls, chunked, fail](OriginExchange& x) {
        if (++*calls > 1) {
            x.respond(200, {{"Cache-Control", "max-age=60"}}, "later");
            return;
        }
        HeaderFields headers{{"Cache-Control", "max-age=60"}};
        if (!chunked) {
            headers.push_back({"Content-Length", "10"});
        }
        x.send_head(200, headers);
        x.send_body_chunk("12345");
        if (!gate.wait_for(5s)) {
            return;
        }
        if (fail) {
            x.close();
            return;
        }
        x.send_body_chunk("67890");
    });
}

// The leading request for `target`, once the origin has sent it the first half.
HttpClient leader_with_first_half(const LacquerProcess& proxy, const ScriptedOrigin& origin,
                                  const std::string& target) {
    HttpClient leader = send_get(proxy.port(), target);
    EXPECT_TRUE(origin.wait_for_count(target, 1, 5s));
    EXPECT_TRUE(leader.received_contains("12345", 5s));
    return leader;
}

TEST(WaiterStreaming, WaitersGetTheBodyAsItArrivesWithContentLength) {
    ScriptedOrigin origin;
    Gate gate;
    half_then_gate(origin, "/c/half", gate, false);
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    HttpClient leader = leader_with_first_half(proxy, origin, "/c/half");

    std::vector<HttpClient> waiters;
    for (int i = 0; i < 4; ++i) {
        waiters.push_back(send_get(proxy.port(), "/c/half"));
    }
    HttpClient head_waiter = send_get(proxy.port(), "/c/half", "HEAD");
    // The origin still holds the second half: every waiter already has the first.
    for (HttpClient& w : waiters) {
        ASSERT_TRUE(w.received_contains("12345", 5s)) << w.received();
        EXPECT_THAT(w.received(), HasSubstr("Content-Length: 10\r\n"));
        EXPECT_THAT(w.received(), HasSubstr("collapsed"));
        EXPECT_THAT(w.received(), ::testing::Not(HasSubstr("67890")));
    }
    gate.open();
    for (HttpClient& w : waiters) {
        const Response r = w.read_response(5s);
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "1234567890");
        EXPECT_EQ(r.header("Cache-Status"), "lacquer; fwd=uri-miss; collapsed");
        EXPECT_EQ(r.status, 200); // the stream's head has no status line: written here
        EXPECT_EQ(r.reason, "OK");
        EXPECT_EQ(r.header("Via"), "1.1 lacquer");
    }
    const Response head = head_waiter.read_response(5s, "HEAD");
    ASSERT_TRUE(head.complete) << head.summary();
    EXPECT_EQ(head.header("Content-Length"), "10");
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(leader.read_response(5s).body, "1234567890");
    EXPECT_EQ(origin.count("/c/half"), 1u);
    const Response hit = proxy.get("/c/half", kApiHost);
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_EQ(hit.body, "1234567890");
}

TEST(WaiterStreaming, ChunkedBodiesAreStreamedChunkedAndCloseDelimitedToHttp10) {
    ScriptedOrigin origin;
    Gate gate;
    half_then_gate(origin, "/c/chunky", gate, true);
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    HttpClient leader = leader_with_first_half(proxy, origin, "/c/chunky");

    HttpClient waiter = send_get(proxy.port(), "/c/chunky");
    HttpClient old_client;
    ASSERT_TRUE(old_client.connect(proxy.port()));
    ASSERT_TRUE(old_client.send_raw("GET /c/chunky HTTP/1.0\r\nHost: api.test\r\n\r\n"));
    ASSERT_TRUE(waiter.received_contains("12345", 5s)) << waiter.received();
    EXPECT_THAT(waiter.received(), HasSubstr("Transfer-Encoding: chunked\r\n"));
    ASSERT_TRUE(old_client.received_contains("12345", 5s)) << old_client.received();
    EXPECT_THAT(old_client.received(), ::testing::Not(HasSubstr("chunked")));
    EXPECT_THAT(old_client.received(), ::testing::Not(HasSubstr("Content-Length")));
    gate.open();
    const Response r = waiter.read_response(5s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.body, "1234567890");
    const Response old = old_client.read_response(5s);
    EXPECT_EQ(old.body, "1234567890");
    EXPECT_TRUE(old_client.is_closed_by_peer(5s)); // the close ended the body
    EXPECT_EQ(leader.read_response(5s).body, "1234567890");
    EXPECT_EQ(origin.count("/c/chunky"), 1u);
    EXPECT_EQ(proxy.get("/c/chunky", kApiHost).header("Cache-Status"), kHit);
}

TEST(WaiterStreaming, ALeaderThatFailsMidBodyEndsTheWaitersUnfinishedAndStoresNothing) {
    ScriptedOrigin origin;
    Gate gate;
    half_then_gate(origin, "/c/broken", gate, false, true);
    LacquerProcess proxy(caching_config(origin, kRoutes).workers(2));
    ASSERT_TRUE(proxy.started());
    HttpClient leader = leader_with_first_half(proxy, origin, "/c/broken");
    HttpClient waiter = send_get(proxy.port(), "/c/broken");
    ASSERT_TRUE(waiter.received_contains("12345", 5s)) << waiter.received();
    gate.open(); // the origin closes after 5 of its 10 bytes
    const Response r = waiter.read_response(5s);
    EXPECT_FALSE(r.complete) << r.summary(); // never a complete-looking answer
    EXPECT_TRUE(waiter.is_closed_by_peer(5s));
    EXPECT_FALSE(leader.read_response(5s).complete);
    const Response next = proxy.get("/c/broken", kApiHost);
    EXPECT_EQ(next.header("Cache-Status"), kStored); // nothing partial was stored
    EXPECT_EQ(next.body, "later");
    EXPECT_EQ(origin.count("/c/broken"), 2u);
}

TEST(WaiterStreaming, AWaitForAHeadThatDoesNotComeEndsAtTheRoutesWaitTimeout) {
    ScriptedOrigin origin;
    std::atomic<int> calls{0};
    Gate stall_done;
    origin.on_get("/w/stall", [&](OriginExchange& x) {
        if (++calls == 1) {
            (void)stall_done.wait_for(5s); // the leader's origin says nothing for a while
            x.respond(200, {{"Cache-Control", "max-age=60"}}, "leader's answer");
            return;
        }
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "own answer");
    });
    LacquerProcess proxy(
        caching_config(origin, kRoutes).workers(2).origin_setting("first_byte_timeout: 5s"));
    ASSERT_TRUE(proxy.started());
    HttpClient leader = send_get(proxy.port(), "/w/stall");
    ASSERT_TRUE(origin.wait_for_count("/w/stall", 1, 5s));
    const auto start = Clock::now();
    const Response waiter = proxy.get("/w/stall", kApiHost, 5s);
    const auto waited = Clock::now() - start;
    stall_done.open();
    ASSERT_TRUE(waiter.complete) << waiter.summary();
    EXPECT_EQ(waiter.body, "own answer");
    EXPECT_GE(waited, 400ms);  // the route's wait_timeout first
    EXPECT_LT(waited, 2500ms); // not the origin's 5 s first-byte timeout
    EXPECT_EQ(origin.count("/w/stall"), 2u);
    EXPECT_EQ(leader.read_response(5s).body, "leader's answer");
}

} // namespace
} // namespace lacquer::test
