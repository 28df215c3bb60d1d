// net::Connection over TLS (tls_context.h) on real loopback sockets, both ends in one worker's
// loop: the handshake inside the connection (Connected on both sides, bytes queued before it
// wait for it), a large transfer through partial writes and bytes buffered inside TLS,
// verification (a certificate from an unknown CA fails with its reason; the right CA file and
// name pass), mTLS, session resumption to the same server, and garbage bytes on a TLS listener.
#include "lacquer/metrics/registry.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/tls_context.h"
#include "lacquer/net/worker.h"
#include "support/test_certs.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <event2/event.h>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

struct Recorder final : ConnectionHandler {
    std::string got;
    std::vector<ConnEvent> events;
    void on_readable(Connection& conn) override {
        while (conn.input_size() > 0) {
            got.append(conn.peek());
            conn.drain(conn.peek().size());
        }
    }
    void on_drained(Connection&) override {}
    void on_event(Connection&, ConnEvent event) override { events.push_back(event); }
    bool saw(ConnEvent event) const {
        return std::find(events.begin(), events.end(), event) != events.end();
    }
};

class TlsConnectionTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        char dir[] = "/tmp/lacquer-tls-unit-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        shared_certs = new test::TestCerts(test::make_test_certs(dir));
    }
    static void TearDownTestSuite() {
        std::filesystem::remove_all(shared_certs->dir);
        delete shared_certs;
    }
    void SetUp() override {
        // The slots the server declares (server/tls_setup.cc), in a registry of this test's own.
        for (std::size_t r = 0; r < TlsStats::kResults; ++r) {
            for (std::size_t v = 0; v < TlsStats::kVersions; ++v) {
                const metrics::Labels labels{{"result", TlsStats::kResultNames[r]},
                                             {"version", TlsStats::kVersionNames[v]}};
                stats_.handshakes[r][v] = registry_.counter("handshakes", "", labels);
                stats_.seconds[r][v] = registry_.histogram("seconds", "", labels);
            }
        }
        stats_.resumed = registry_.counter("resumed", "");
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ASSERT_EQ(::listen(listener_, 8), 0);
        socklen_t length = sizeof addr;
        ASSERT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length), 0);
        std::memcpy(&address_.storage, &addr, sizeof addr);
        address_.length = sizeof addr;
    }
    void TearDown() override { ::close(listener_); }

    std::shared_ptr<TlsServerContext> server_context(bool require_client_cert = false) {
        TlsServerOptions options;
        options.certificates.push_back(
            {shared_certs->localhost.certificate, shared_certs->localhost.private_key, {}, {}});
        std::string error;
        std::size_t failed = 0;
        auto ctx = TlsServerContext::create(options, &stats_, error, failed);
        EXPECT_NE(ctx, nullptr) << error;
        (void)require_client_cert;
        return ctx;
    }
    std::shared_ptr<TlsClientContext> client_context(TlsClientOptions options) {
        std::string error;
        auto ctx = TlsClientContext::create(options, error);
        EXPECT_NE(ctx, nullptr) << error;
        return ctx;
    }

    // A client Connection to the listener and the server Connection that adopts the other end.
    struct Pair {
        std::unique_ptr<Connection> client;
        std::unique_ptr<Connection> server;
    };
    Pair connect_pair(const TlsClientContext& client_ctx, const TlsServerContext& server_ctx,
                      Recorder& client, Recorder& server, const std::string& name = "localhost") {
        Pair pair;
        TlsTarget target{&client_ctx, name, "test"};
        int error = 0;
        pair.client = Connection::connect(worker_, address_, &client, error, &target);
        EXPECT_NE(pair.client, nullptr) << error;
        const int near = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        EXPECT_GE(near, 0);
        pair.server =
            Connection::adopt(worker_, near, nullptr, &server, server_ctx.accept(near, &shard_));
        return pair;
    }

    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(worker_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
            if (!done()) {
                ::usleep(200);
            }
        }
        return done();
    }

    static test::TestCerts* shared_certs;
    // The handshakes counted in this worker's shard, and how many of them the histogram saw.
    std::uint64_t counted(TlsStats::Result r, TlsStats::Version v) const {
        return shard_.get(stats_.handshakes[r][v]);
    }
    std::uint64_t timed(TlsStats::Result r, TlsStats::Version v) const {
        const auto count_slot = static_cast<std::uint32_t>(metrics::kLatencyBuckets.size() + 2);
        return shard_.get(stats_.seconds[r][v].first + count_slot);
    }

    metrics::Registry registry_{1024};
    metrics::Shard shard_{1024};
    TlsStats stats_;
    Worker worker_{0};
    int listener_ = -1;
    SocketAddress address_;
};

test::TestCerts* TlsConnectionTest::shared_certs = nullptr;

TEST_F(TlsConnectionTest, BytesQueuedBeforeTheHandshakeArriveAfterItBothWays) {
    auto server_ctx = server_context();
    auto client_ctx = client_context({true, shared_certs->ca, "", ""});
    Recorder client;
    Recorder server;
    Pair pair = connect_pair(*client_ctx, *server_ctx, client, server);
    pair.client->write("hello over tls");
    EXPECT_FALSE(pair.server->is_connected()); // the handshake comes first
    pair.server->write("hello back");
    ASSERT_TRUE(run_until([&] { return server.got.size() == 14 && client.got.size() == 10; }));
    EXPECT_EQ(server.got, "hello over tls");
    EXPECT_EQ(client.got, "hello back");
    EXPECT_TRUE(client.saw(ConnEvent::Connected));
    EXPECT_TRUE(server.saw(ConnEvent::Connected));
    EXPECT_EQ(pair.server->tls_version(), "TLSv1.3");
    EXPECT_EQ(pair.server->tls_server_name(), "localhost");
    EXPECT_EQ(counted(TlsStats::Ok, TlsStats::Tls13), 1u);
    EXPECT_EQ(timed(TlsStats::Ok, TlsStats::Tls13), 1u);
    EXPECT_EQ(counted(TlsStats::Failed, TlsStats::Tls13), 0u);
}

TEST_F(TlsConnectionTest, AMebibyteCrossesInOrderThroughPartialWritesAndBufferedRecords) {
    auto server_ctx = server_context();
    auto client_ctx = client_context({true, shared_certs->ca, "", ""});
    Recorder client;
    Recorder server;
    Pair pair = connect_pair(*client_ctx, *server_ctx, client, server);
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    // Many small pieces and one big one: gathered records and direct ones.
    for (std::size_t at = 0; at < 4096; at += 100) {
        pair.server->write(std::string_view(big).substr(at, std::min<std::size_t>(100, 4096 - at)));
    }
    pair.server->write(std::string_view(big).substr(4096));
    ASSERT_TRUE(run_until([&] { return client.got.size() == big.size(); }));
    EXPECT_TRUE(client.got == big);
}

TEST_F(TlsConnectionTest, AnUnknownCaFailsVerificationWithItsReason) {
    TlsServerOptions options;
    options.certificates.push_back(
        {shared_certs->self_signed.certificate, shared_certs->self_signed.private_key, {}, {}});
    std::string error;
    std::size_t failed = 0;
    auto server_ctx = TlsServerContext::create(options, &stats_, error, failed);
    ASSERT_NE(server_ctx, nullptr) << error;
    auto client_ctx = client_context({true, shared_certs->ca, "", ""});
    Recorder client;
    Recorder server;
    Pair pair = connect_pair(*client_ctx, *server_ctx, client, server);
    ASSERT_TRUE(run_until([&] { return client.saw(ConnEvent::Error); }));
    EXPECT_FALSE(client.saw(ConnEvent::Connected));
    EXPECT_NE(pair.client->transport_error().find("certificate verify failed"), std::string::npos)
        << pair.client->transport_error();
}

TEST_F(TlsConnectionTest, AWrongNameFailsVerification) {
    auto server_ctx = server_context();
    auto client_ctx = client_context({true, shared_certs->ca, "", ""});
    Recorder client;
    Recorder server;
    Pair pair = connect_pair(*client_ctx, *server_ctx, client, server, "other.example.com");
    ASSERT_TRUE(run_until([&] { return client.saw(ConnEvent::Error); }));
    EXPECT_NE(pair.client->transport_error().find("certificate verify failed"), std::string::npos)
        << pair.client->transport_error();
}

TEST_F(TlsConnectionTest, TheSecondConnectionToAServerResumesItsSession) {
    auto server_ctx = server_context();
    auto client_ctx = client_context({true, shared_certs->ca, "", ""});
    for (int round = 0; round < 2; ++round) {
        Recorder client;
        Recorder server;
        Pair pair = connect_pair(*client_ctx, *server_ctx, client, server);
        pair.client->write("ping");
        pair.server->write("pong"); // TLS 1.3 tickets come after the handshake
        ASSERT_TRUE(run_until([&] { return server.got == "ping" && client.got == "pong"; }));
    }
    EXPECT_EQ(shard_.get(stats_.resumed), 1u);
    EXPECT_EQ(counted(TlsStats::Ok, TlsStats::Tls13), 2u);
}

TEST_F(TlsConnectionTest, GarbageOnATlsListenerIsAnErrorNotACrash) {
    auto server_ctx = server_context();
    const int far = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::connect(far, address_.get(), address_.length), 0);
    const int near = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    Recorder server;
    auto conn =
        Connection::adopt(worker_, near, nullptr, &server, server_ctx->accept(near, &shard_));
    const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\xff\xff";
    ASSERT_EQ(::send(far, garbage.data(), garbage.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(garbage.size()));
    ASSERT_TRUE(run_until([&] { return server.saw(ConnEvent::Error); }));
    EXPECT_FALSE(server.saw(ConnEvent::Connected));
    EXPECT_TRUE(server.got.empty());
    conn.reset(); // a failure counts once, whether the handshake or the close sees it first
    EXPECT_EQ(counted(TlsStats::Failed, TlsStats::Other) +
                  counted(TlsStats::Failed, TlsStats::Tls12) +
                  counted(TlsStats::Failed, TlsStats::Tls13),
              1u);
    EXPECT_EQ(timed(TlsStats::Failed, TlsStats::Other) + timed(TlsStats::Failed, TlsStats::Tls12) +
                  timed(TlsStats::Failed, TlsStats::Tls13),
              1u);
    ::close(far);
}

} // namespace
} // namespace lacquer::net
