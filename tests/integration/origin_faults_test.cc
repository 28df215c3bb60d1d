// What a client sees when the origin is down, slow, busy or broken: a clear 502/503/504 when
// nothing was sent yet, a visibly truncated response when something was.
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"
#include "support/test_config.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

// A loopback port with nothing listening: bind, read the port, close.
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "bind";
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0) << "getsockname";
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST(OriginFaults, OriginDownIs502AndTheClientConnectionSurvives) {
    LacquerProcess proxy(TestConfig().origin("127.0.0.1:" + std::to_string(closed_port())));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    Response r = client.get("/down");
    EXPECT_EQ(r.status, 502) << r.summary();
    EXPECT_EQ(client.get("/down-again").status, 502); // keep-alive kept
}

TEST(OriginFaults, SlowOriginIs504AfterFirstByteTimeout) {
    ScriptedOrigin origin;
    Gate never;
    origin.on_get("/slow", [&](OriginExchange& x) {
        (void)never.wait_for(5s);
        x.respond(200, {}, "late");
    });
    LacquerProcess proxy(
        TestConfig().origin(origin.address()).origin_setting("first_byte_timeout: 300ms"));
    ASSERT_TRUE(proxy.started());
    const auto start = std::chrono::steady_clock::now();
    Response r = proxy.get("/slow", {}, 5s);
    EXPECT_EQ(r.status, 504) << r.summary();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    never.open();
}

TEST(OriginFaults, OriginThatStopsTakingTheRequestBodyIs504AfterBetweenBytesTimeout) {
    // A listener that never accepts nor reads: the kernel takes what fits in its buffers
    // (a few MiB on loopback), then the upload stalls. No phase without a deadline.
    std::uint16_t port = 0;
    std::string error;
    UniqueFd deaf = listen_loopback(port, error);
    ASSERT_TRUE(deaf.valid()) << error;
    LacquerProcess proxy(TestConfig()
                             .origin("127.0.0.1:" + std::to_string(port))
                             .origin_setting("between_bytes_timeout: 500ms")
                             .limit("max_body_bytes", "32MiB")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const std::string body(24 * 1024 * 1024, 'u');
    const Deadline bound(15s);
    Response r = client.request("POST", "/upload-stalls", {}, body, 15s);
    EXPECT_EQ(r.status, 504) << r.summary();
    EXPECT_GT(bound.remaining(), 15s - 8s) << "the 504 came late";
}

TEST(OriginFaults, AllConnectionsBusyIs503) {
    ScriptedOrigin origin;
    Gate release;
    origin.on_get("/hold", [&](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(5s));
        x.respond(200, {}, "held");
    });
    LacquerProcess proxy(TestConfig()
                             .workers(1)
                             .origin(origin.address())
                             .origin_setting("max_connections_per_server: 1"));
    ASSERT_TRUE(proxy.started());
    HttpClient holder;
    ASSERT_TRUE(holder.connect(proxy.port()));
    ASSERT_TRUE(holder.send_raw(build_request("GET", "/hold")));
    ASSERT_TRUE(release.wait_for_waiters(1, 5s));
    Response busy = proxy.get("/other");
    EXPECT_EQ(busy.status, 503) << busy.summary();
    release.open();
    EXPECT_EQ(holder.read_response().body, "held");
}

TEST(OriginFaults, OriginClosingMidBodyGivesATruncatedResponseNeverAComplete) {
    ScriptedOrigin origin;
    origin.on_get("/cut", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
        x.close();
    });
    origin.on_get("/cut-chunked", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        x.close();
    });
    LacquerProcess proxy(TestConfig().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    for (const char* path : {"/cut", "/cut-chunked"}) {
        HttpClient client;
        ASSERT_TRUE(client.connect(proxy.port()));
        Response r = client.get(path);
        EXPECT_FALSE(r.complete) << path << ": " << r.summary();
        EXPECT_TRUE(client.is_closed_by_peer(5s)) << path;
    }
}

TEST(OriginFaults, GarbageFromTheOriginIs502) {
    ScriptedOrigin origin;
    origin.on_get("/garbage", [](OriginExchange& x) {
        x.send_raw("this is not http\r\n\r\n");
        x.close();
    });
    origin.on_get("/two-lengths", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc");
    });
    LacquerProcess proxy(TestConfig().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/garbage").status, 502);
    EXPECT_EQ(proxy.get("/two-lengths").status, 502);
}

TEST(OriginFaults, ResetBeforeAnswerIs502) {
    ScriptedOrigin origin;
    origin.on_get("/reset", [](OriginExchange& x) { x.reset(); });
    LacquerProcess proxy(TestConfig().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/reset").status, 502);
}

TEST(OriginFaults, StaleKeepAliveConnectionIsRetriedForIdempotentRequests) {
    ScriptedOrigin origin;
    int served = 0;
    origin.on_get("/flaky", [&](OriginExchange& x) {
        ++served;
        x.respond(200, {}, "ok");
        x.close(); // the origin drops the keep-alive connection after each answer, silently
    });
    LacquerProcess proxy(TestConfig().workers(1).origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    for (int i = 0; i < 5; ++i) {
        Response r = proxy.get("/flaky");
        EXPECT_EQ(r.status, 200) << i << ": " << r.summary();
    }
}

} // namespace
} // namespace lacquer::test
