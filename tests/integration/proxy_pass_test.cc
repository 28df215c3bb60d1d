// Pass-through proxying end to end: the real lacquerd between a real client socket and a
// ScriptedOrigin on loopback. Each test uses its own paths so that no two share state.
#include "lacquer/core/sanitizers.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

// Pass-through: the default route does not cache here (cache_*_test.cc cover caching).
TestConfig config_for(const ScriptedOrigin& origin) {
    return TestConfig().origin(origin.address()).extra("default_route: { pass: true }\n");
}

// Resident memory of a process in KiB (VmRSS), or -1.
long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

TEST(ProxyPass, GetHeadAndPostReachTheOriginAndComeBack) {
    ScriptedOrigin origin;
    origin.on_get("/pass/get?x=1", [](OriginExchange& x) {
        x.respond(200, {{"Content-Type", "application/json"}, {"X-Origin", "yes"}}, "{\"a\":1}");
    });
    origin.on("HEAD", "/pass/head", [](OriginExchange& x) {
        x.respond(200, {{"Content-Length", "1234"}}, "");
    });
    origin.on("POST", "/pass/post", [](OriginExchange& x) {
        x.respond(201, {}, "got " + std::to_string(x.request().body.size()));
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());

    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    Response get = client.get("/pass/get?x=1");
    ASSERT_TRUE(get.complete) << get.summary();
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "{\"a\":1}");
    EXPECT_EQ(get.header("X-Origin"), "yes");
    EXPECT_EQ(get.header("Via"), "1.1 lacquer");

    Response head = client.request("HEAD", "/pass/head");
    ASSERT_TRUE(head.complete) << head.summary();
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), "1234"); // the GET's length, no body
    EXPECT_EQ(head.body, "");

    Response post = client.request("POST", "/pass/post", {}, std::string(3000, 'p'));
    ASSERT_TRUE(post.complete) << post.summary();
    EXPECT_EQ(post.status, 201);
    EXPECT_EQ(post.body, "got 3000");
    EXPECT_EQ(origin.count("/pass/get?x=1"), 1u);
    EXPECT_EQ(origin.count("/pass/post"), 1u);
}

TEST(ProxyPass, HopByHopHeadersAreDroppedAndForwardingHeadersAdded) {
    ScriptedOrigin origin;
    origin.on_get("/hop", [](OriginExchange& x) {
        x.respond(200,
                  {{"Connection", "X-Private"}, {"X-Private", "p"}, {"Keep-Alive", "timeout=5"}},
                  "ok");
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    Response r = proxy.get("/hop", {{"Connection", "keep-alive, X-Hop"},
                                    {"X-Hop", "secret"},
                                    {"TE", "trailers"},
                                    {"Upgrade", "websocket"},
                                    {"X-Forwarded-For", "10.1.2.3"}});
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_FALSE(r.has_header("X-Private"));
    EXPECT_FALSE(r.has_header("Keep-Alive"));
    auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_FALSE(seen->has_header("X-Hop"));
    EXPECT_FALSE(seen->has_header("TE"));
    EXPECT_FALSE(seen->has_header("Upgrade"));
    EXPECT_EQ(seen->header("X-Forwarded-For"), "10.1.2.3, 127.0.0.1");
    EXPECT_EQ(seen->header("Via"), "1.1 lacquer");
    EXPECT_EQ(seen->header("Host"),
              "127.0.0.1:" + std::to_string(proxy.port())); // as the client sent it
}

// The request body is read whole first (request_body.h), so it goes on with its length; the
// response streams in chunks.
TEST(ProxyPass, ChunkedRequestBodyGoesOnWithItsLengthAndTheResponseStreamsChunked) {
    ScriptedOrigin origin;
    origin.on("POST", "/chunked", [](OriginExchange& x) {
        const std::string got = x.request().body;
        x.send_head(200, {{"Transfer-Encoding", "chunked"}});
        x.send_body_chunk("first:");
        x.send_body_chunk(std::to_string(got.size()));
        x.send_body_chunk(x.request().chunked ? ":chunked" : ":plain");
        x.finish_body();
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const std::string body(70000, 'c');
    std::string wire = "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t off = 0; off < body.size(); off += 10000) {
        char size[16];
        std::snprintf(size, sizeof size, "%zx;ext=1\r\n",
                      std::min<std::size_t>(10000, body.size() - off));
        wire += size + body.substr(off, 10000) + "\r\n";
    }
    wire += "0\r\nX-Trailer: t\r\n\r\n";
    ASSERT_TRUE(client.send_raw(wire));
    Response r = client.read_response();
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(r.body, "first:70000:plain");
    const std::optional<ReceivedRequest> seen = origin.last_request();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->header("Content-Length"), "70000");
    EXPECT_FALSE(seen->has_header("Transfer-Encoding"));
    EXPECT_FALSE(seen->has_header("X-Trailer")); // trailers are dropped
    EXPECT_TRUE(seen->body == body);
    // The connection stays usable after a chunked exchange.
    origin.on_get("/after-chunked", [](OriginExchange& x) { x.respond(200, {}, "again"); });
    Response again = client.get("/after-chunked");
    EXPECT_EQ(again.body, "again") << again.summary();
}

TEST(ProxyPass, CloseDelimitedResponseBecomesChunkedForHttp11Clients) {
    ScriptedOrigin origin;
    origin.on_get("/eof", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        x.close();
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    Response r = client.get("/eof");
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(r.body, "until the end");
    origin.on_get("/eof-next", [](OriginExchange& x) { x.respond(200, {}, "next"); });
    EXPECT_EQ(client.get("/eof-next").body, "next"); // the client connection was kept
}

// Sanitizer builds keep freed memory in quarantine and add shadow memory: RSS says nothing there.
#if defined(LACQUER_ASAN) || defined(LACQUER_TSAN)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

TEST(ProxyPass, TenMegabyteBodiesStreamWithoutBeingHeldInMemory) {
    ScriptedOrigin origin;
    const std::string big(10 * 1024 * 1024, 'b');
    origin.on_get("/big", [&](OriginExchange& x) { x.respond(200, {}, big); });
    origin.on("POST", "/upload", [](OriginExchange& x) {
        x.respond(200, {}, std::to_string(x.request().body.size()));
    });
    origin.on_get("/warm", [](OriginExchange& x) { x.respond(200, {}, "w"); });
    LacquerProcess proxy(config_for(origin).workers(1));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/warm").status, 200); // pools and buffers exist before measuring
    const long before = rss_kib(proxy.pid());
    ASSERT_GT(before, 0);

    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(build_request("GET", "/big")));
    // The client reads nothing for a while: the origin keeps sending, so lacquerd must push back
    // (stop reading from the origin) instead of buffering the 10 MiB.
    std::this_thread::sleep_for(700ms); // lets the transfer stall; not a synchronisation
    const long stalled = rss_kib(proxy.pid());
    Response r = client.read_response(20s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.body.size(), big.size());
    EXPECT_TRUE(r.body == big);
    if (kMeasuresMemory) {
        EXPECT_LT(stalled - before, 4 * 1024) << "RSS grew by " << (stalled - before) << " KiB";
    }

    Response up = client.request("POST", "/upload", {}, big, 20s);
    ASSERT_TRUE(up.complete) << up.summary();
    EXPECT_EQ(up.body, std::to_string(big.size()));
    const long after = rss_kib(proxy.pid());
    if (kMeasuresMemory) {
        EXPECT_LT(after - before, 6 * 1024) << "RSS grew by " << (after - before) << " KiB";
    }
}

TEST(ProxyPass, KeepAliveConnectionsToTheOriginAreReused) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, "r"); });
    LacquerProcess proxy(config_for(origin).workers(1));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    for (int i = 0; i < 50; ++i) {
        Response r = client.get("/reuse/" + std::to_string(i));
        ASSERT_TRUE(r.complete) << r.summary();
    }
    EXPECT_EQ(origin.total_requests(), 50u);
    EXPECT_LE(origin.connections_accepted(), 2u);
}

TEST(ProxyPass, PipelinedRequestsAreAnsweredInOrder) {
    ScriptedOrigin origin;
    Gate first_may_answer;
    origin.on_get("/pipe/1", [&](OriginExchange& x) {
        EXPECT_TRUE(first_may_answer.wait_for(5s));
        x.respond(200, {}, "one");
    });
    origin.on_get("/pipe/2", [](OriginExchange& x) { x.respond(200, {}, "two"); });
    origin.on("HEAD", "/pipe/3", [](OriginExchange& x) {
        x.respond(200, {{"Content-Length", "5"}}, "");
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(build_request("GET", "/pipe/1") + build_request("GET", "/pipe/2") +
                                build_request("HEAD", "/pipe/3") +
                                build_request("GET", "/pipe/2")));
    ASSERT_TRUE(first_may_answer.wait_for_waiters(1, 5s));
    first_may_answer.open();
    Response r1 = client.read_response();
    Response r2 = client.read_response();
    Response r3 = client.read_response(5s, "HEAD");
    Response r4 = client.read_response();
    EXPECT_EQ(r1.body, "one") << r1.summary();
    EXPECT_EQ(r2.body, "two") << r2.summary();
    EXPECT_EQ(r3.header("Content-Length"), "5") << r3.summary();
    EXPECT_EQ(r4.body, "two") << r4.summary();
}

TEST(ProxyPass, ManyConcurrentClientsAreSpreadOverAllWorkers) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, x.request().target); });
    LacquerProcess proxy(config_for(origin).workers(2));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.worker_threads(), 2);
    auto replies = get_concurrently(proxy.port(), "/many", 200, 20s);
    ASSERT_EQ(replies.size(), 200u);
    for (const Response& r : replies) {
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "/many");
    }
    // Both reactors served: each keeps its own origin connections, so the origin saw
    // connections from both (SO_REUSEPORT spreads the 200 client connections).
    std::set<std::uint64_t> origin_conns;
    for (const auto& req : origin.requests()) {
        origin_conns.insert(req.connection);
    }
    EXPECT_GE(origin_conns.size(), 2u);
    EXPECT_EQ(origin.count("/many"), 200u);
}

TEST(ProxyPass, Http10ClientGetsCloseDelimitedBodyForChunkedOrigin) {
    ScriptedOrigin origin;
    origin.on_get("/ten", [](OriginExchange& x) {
        x.send_head(200, {{"Transfer-Encoding", "chunked"}});
        x.send_body_chunk("old ");
        x.send_body_chunk("client");
        x.finish_body();
    });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw("GET /ten HTTP/1.0\r\n\r\n"));
    Response r = client.read_response();
    EXPECT_FALSE(r.chunked); // HTTP/1.0 has no chunked coding: the close ends the body
    EXPECT_EQ(r.body, "old client") << r.summary();
    EXPECT_TRUE(client.is_closed_by_peer(5s));
}

TEST(ProxyPass, TheOriginAlwaysGetsExactlyOneHost) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, "ok"); });
    LacquerProcess proxy(config_for(origin));
    ASSERT_TRUE(proxy.started());
    // A client's Connection header cannot strip Host.
    Response r = proxy.get("/named", {{"Connection", "keep-alive, Host"}});
    ASSERT_EQ(r.status, 200) << r.summary();
    auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->header("Host"), "127.0.0.1:" + std::to_string(proxy.port()));
    // HTTP/1.0 without Host: the absolute-form authority, else the configured origin server.
    const std::pair<std::string, std::string> cases[] = {
        {"GET /bare HTTP/1.0\r\n\r\n", origin.address()},
        {"GET http://api.example:8080/abs HTTP/1.0\r\n\r\n", "api.example:8080"}};
    for (const auto& [request, host] : cases) {
        HttpClient client;
        ASSERT_TRUE(client.connect(proxy.port()));
        ASSERT_TRUE(client.send_raw(request));
        EXPECT_EQ(client.read_response().status, 200);
        seen = origin.last_request();
        ASSERT_TRUE(seen.has_value());
        EXPECT_EQ(seen->header_count("Host"), 1u) << request;
        EXPECT_EQ(seen->header("Host"), host) << request;
    }
}

} // namespace
} // namespace lacquer::test
