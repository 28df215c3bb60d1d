// Request bodies are read whole before the origin is asked (issue 15, item 4: "No phase without
// a deadline"): a slow body holds its own client connection only, never an origin connection;
// client_body_timeout bounds each gap between reads and client_request_timeout the whole request,
// both answered 408 and close; what reaches the origin is the body intact, with its length.
#include "support/child_process.h"
#include "support/deadline.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

// Every byte value, in a pattern that does not repeat at any power-of-two stride, so a lost,
// repeated or reordered piece shows.
std::string patterned_body(std::size_t size) {
    std::string body(size, '\0');
    std::uint32_t x = 2463534242u;
    for (char& c : body) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x & 0xff);
    }
    return body;
}

std::string chunked(std::string_view body, std::size_t piece) {
    std::string wire;
    for (std::size_t off = 0, n = 0; off < body.size(); off += n) {
        n = std::min(piece, body.size() - off);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", n);
        wire += size;
        wire.append(body.substr(off, n));
        wire += "\r\n";
        piece = piece * 3 / 2 + 1; // sizes vary, so chunk edges fall anywhere
    }
    return wire + "0\r\n\r\n";
}

std::string post_head(std::string_view target, std::size_t length, std::string_view extra = {}) {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: body.test\r\nContent-Length: " + std::to_string(length) + "\r\n" +
           std::string(extra) + "\r\n";
}

// The origin answers every request with its body's size.
void answer_sizes(ScriptedOrigin& origin) {
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {}, x.request().method + " " + std::to_string(x.request().body.size()));
    });
}

TEST(ProxyRequestBody, TrickledBodyGets408AndTheOriginIsNeverContacted) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_timeout", "500ms")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    // Bytes come faster than the gap for a while (more than one gap in all): the clock is
    // between reads, not from the head.
    ASSERT_TRUE(client.send_raw(post_head("/trickle", 100)));
    for (int i = 0; i < 8; ++i) {
        ASSERT_FALSE(client.received_contains("HTTP/", 100ms)) << client.received();
        ASSERT_TRUE(client.send_raw("x"));
    }
    // Then one byte per interval slower than client_body_timeout: the first gap ends it.
    const Deadline slow(5s);
    Response r = client.read_response(5s);
    EXPECT_EQ(r.status, 408) << r.summary();
    EXPECT_GT(slow.remaining(), 5s - 2s) << "the 408 came late";
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    // With the body read first, the origin was not even connected to.
    EXPECT_EQ(origin.connections_accepted(), 0u);
    EXPECT_EQ(origin.total_requests(), 0u);
}

TEST(ProxyRequestBody, ExpectContinueWithoutABodyGets100Then408AndClose) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_timeout", "300ms")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(post_head("/expect", 10, "Expect: 100-continue\r\n")));
    Response interim = client.read_response(5s);
    EXPECT_EQ(interim.status, 100) << interim.summary();
    // The client never sends the body it announced.
    const Deadline bound(5s);
    Response r = client.read_response(5s);
    EXPECT_EQ(r.status, 408) << r.summary();
    EXPECT_GT(bound.remaining(), 5s - 2s) << "the 408 came late";
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    EXPECT_EQ(origin.connections_accepted(), 0u);
    // A client that waits for the 100 and then sends its body is served.
    HttpClient polite;
    ASSERT_TRUE(polite.connect(proxy.port()));
    ASSERT_TRUE(polite.send_raw(post_head("/expect", 10, "Expect: 100-continue\r\n")));
    EXPECT_EQ(polite.read_response(5s).status, 100);
    ASSERT_TRUE(polite.send_raw("0123456789"));
    Response ok = polite.read_response(5s);
    EXPECT_EQ(ok.status, 200) << ok.summary();
    EXPECT_EQ(ok.body, "POST 10");
    const std::optional<ReceivedRequest> seen = origin.last_request();
    ASSERT_TRUE(seen);
    EXPECT_FALSE(seen->has_header("Expect")); // answered here: the origin gets the whole body
}

TEST(ProxyRequestBody, WholeRequestDeadlineCutsABodyTrickledJustUnderTheGap) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_timeout", "600ms")
                             .limit("client_request_timeout", "1500ms")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const Deadline since_head(10s);
    ASSERT_TRUE(client.send_raw(post_head("/forever", 1000)));
    // A byte every 150 ms, well inside the 600 ms gap, for up to 6 s.
    bool answered = false;
    for (int i = 0; i < 40 && !answered; ++i) {
        answered = client.received_contains("HTTP/", 150ms);
        if (!answered && !client.send_raw("x", 1s)) {
            break; // closed by lacquerd: its answer is read below
        }
    }
    Response r = client.read_response(5s);
    EXPECT_EQ(r.status, 408) << r.summary();
    const auto elapsed = 10s - since_head.remaining();
    EXPECT_GE(elapsed, 1400ms) << "cut before the whole-request bound";
    EXPECT_LE(elapsed, 5000ms) << "not cut at the whole-request bound";
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    EXPECT_EQ(origin.connections_accepted(), 0u);
}

TEST(ProxyRequestBody, SlowBodiesDoNotTakeTheOriginConnectionsFromOtherRequests) {
    // The 48-clients scenario of issue 15 scaled down: 8 slow bodies on a pool of 4 connections.
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .workers(1)
                             .admin()
                             .origin(origin.address())
                             .origin_setting("max_connections_per_server: 4")
                             .limit("client_body_timeout", "5s"));
    ASSERT_TRUE(proxy.started());
    constexpr int kSlow = 8;
    std::vector<std::unique_ptr<HttpClient>> slow;
    std::size_t heads = 0;
    for (int i = 0; i < kSlow; ++i) {
        auto c = std::make_unique<HttpClient>();
        ASSERT_TRUE(c->connect(proxy.port()));
        const std::string head = post_head("/slow/" + std::to_string(i), 10);
        ASSERT_TRUE(c->send_raw(head + "x"));
        heads += head.size();
        slow.push_back(std::move(c));
    }
    // Every slow head has been read (and its request dispatched) by lacquerd.
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_client_received_bytes_total",
                                      static_cast<double>(heads), 5s));
    // A normal miss on the same pool is served while all of them are still sending.
    Response miss = proxy.get("/normal-miss");
    EXPECT_EQ(miss.status, 200) << miss.summary();
    EXPECT_EQ(miss.body, "GET 0");
    EXPECT_EQ(origin.count("/normal-miss"), 1u);
    // Then each slow client finishes and is served too.
    for (int i = 0; i < kSlow; ++i) {
        ASSERT_TRUE(slow[i]->send_raw("123456789"));
        Response r = slow[i]->read_response(5s);
        EXPECT_EQ(r.status, 200) << "slow client " << i << ": " << r.summary();
        EXPECT_EQ(r.body, "POST 10");
    }
    EXPECT_LE(origin.connections_accepted(), 4u);
}

TEST(ProxyRequestBody, BodiesArriveIntactWithTheirLengthFromMemoryAndFromTheFile) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    TempDir spill("lacquer-bodies");
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_buffer", "16KiB")
                             .limit("client_body_temp_dir", spill.path().string())
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    // 2 MiB is more than the socket buffers on either side: both directions must keep moving.
    const std::string small = patterned_body(1000);
    const std::string big = patterned_body(2 * 1024 * 1024 + 3);
    struct Case {
        std::string name;
        std::string wire;
        const std::string* body;
    };
    const std::string empty;
    const std::vector<Case> cases = {
        {"length/memory", post_head("/b/lm", small.size()) + small, &small},
        {"length/file", post_head("/b/lf", big.size()) + big, &big},
        {"chunked/memory",
         "POST /b/cm HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
             chunked(small, 7),
         &small},
        {"chunked/file",
         "POST /b/cf HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
             chunked(big, 1000),
         &big},
        {"chunked/empty",
         "POST /b/ce HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         &empty},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        origin.clear_records();
        ASSERT_TRUE(client.send_raw(c.wire, 10s));
        Response r = client.read_response(10s);
        ASSERT_EQ(r.status, 200) << r.summary();
        EXPECT_EQ(r.body, "POST " + std::to_string(c.body->size()));
        const std::optional<ReceivedRequest> seen = origin.last_request();
        ASSERT_TRUE(seen);
        EXPECT_EQ(seen->header("Content-Length"), std::to_string(c.body->size()));
        EXPECT_FALSE(seen->has_header("Transfer-Encoding"));
        EXPECT_FALSE(seen->chunked);
        EXPECT_TRUE(seen->body == *c.body) << "the body changed on its way";
    }
    // Spilled bodies never had a name in the directory.
    EXPECT_TRUE(std::filesystem::is_empty(spill.path()));
}

TEST(ProxyRequestBody, ATempDirThatCannotBeWrittenFailsOnlyTheBodiesThatSpill) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    TempDir parent("lacquer-bodies");
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_buffer", "4KiB")
                             .limit("client_body_temp_dir", (parent.path() / "missing").string())
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const std::string fits = patterned_body(4096);
    Response ok = client.request("POST", "/fits", {}, fits);
    EXPECT_EQ(ok.status, 200) << ok.summary();
    EXPECT_EQ(ok.body, "POST 4096");
    Response failed = client.request("POST", "/spills", {}, patterned_body(4097));
    EXPECT_EQ(failed.status, 500) << failed.summary();
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    EXPECT_EQ(origin.count("/spills"), 0u);
    // The operator learns why.
    EXPECT_TRUE(proxy.wait_for_stderr("no temporary file in limits.client_body_temp_dir", 5s))
        << proxy.stderr_text();
}

TEST(ProxyRequestBody, ChunkedBodyOverTheLimitGets413BeforeTheOriginIsAsked) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("max_body_bytes", "64KiB")
                             .limit("client_body_buffer", "4KiB")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    // Every chunk is small; together they pass the limit.
    ASSERT_TRUE(client.send_raw(
        "POST /too-big HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunked(patterned_body(64 * 1024 + 1), 1000),
        10s));
    Response r = client.read_response(5s);
    EXPECT_EQ(r.status, 413) << r.summary();
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    EXPECT_EQ(origin.connections_accepted(), 0u);
    // A body exactly at the limit goes through.
    HttpClient again;
    ASSERT_TRUE(again.connect(proxy.port()));
    const std::string at_limit = patterned_body(64 * 1024);
    ASSERT_TRUE(again.send_raw(
        "POST /at-limit HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunked(at_limit, 1000),
        10s));
    Response ok = again.read_response(5s);
    EXPECT_EQ(ok.status, 200) << ok.summary();
    EXPECT_EQ(ok.body, "POST 65536");
}

TEST(ProxyRequestBody, PipelinedRequestsAfterBodiesAreAnsweredInOrder) {
    ScriptedOrigin origin;
    answer_sizes(origin);
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("client_body_buffer", "1KiB")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const std::string a = patterned_body(5000); // spills past the 1 KiB buffer
    const std::string b = patterned_body(300);
    ASSERT_TRUE(client.send_raw(
        post_head("/p/1", a.size()) + a + build_request("GET", "/p/2", {}, {}, "body.test") +
        "POST /p/3 HTTP/1.1\r\nHost: body.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked(b, 100) + build_request("GET", "/p/4", {}, {}, "body.test")));
    const std::vector<std::string> expected = {"POST 5000", "GET 0", "POST 300", "GET 0"};
    for (const std::string& body : expected) {
        Response r = client.read_response(5s);
        EXPECT_EQ(r.status, 200) << r.summary();
        EXPECT_EQ(r.body, body);
    }
    const std::vector<ReceivedRequest> seen = origin.requests();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_TRUE(seen[0].body == a);
    EXPECT_TRUE(seen[2].body == b);
    EXPECT_EQ(seen[3].target, "/p/4");
}

} // namespace
} // namespace lacquer::test
