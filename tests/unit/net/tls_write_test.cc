// The TLS write path (tls_transport.cc, tls_wire.cc) on real loopback sockets, the server in a
// worker's loop and a plain OpenSSL client in the same thread that reads only when told: the
// records a head and a body make (the body's record is its own, uncopied, and small pieces
// share one), a batch bounded to three records, a socket that takes part of a batch (the rest
// waits in the transport and nothing new is taken meanwhile), a slow reader with a body of
// many records, and an end of the connection, either side, while records wait.
#include "lacquer/metrics/registry.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/tls_context.h"
#include "lacquer/net/worker.h"
#include "net/tls_transport.h"
#include "support/test_certs.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <event2/event.h>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

// Most bytes one write may take: TlsWire's batch, room for three records of 16 KiB and their
// overhead (so three full records and a small one, such as a head's, can share it).
constexpr std::size_t kBatchPlaintext = 3 * (16 * 1024 + 1024);

// The memory a listener's TLS transport holds for output that waits (tls_transport.h).
std::size_t held_output(const Transport& tls) {
    return dynamic_cast<const TlsTransport&>(tls).held_output();
}

std::string pattern(std::size_t size, std::size_t seed) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>('a' + (i * 7 + i / 251 + seed) % 26);
    }
    return bytes;
}

struct Recorder final : ConnectionHandler {
    std::vector<ConnEvent> events;
    int drained = 0;
    void on_readable(Connection& conn) override { conn.drain(conn.input_size()); }
    void on_drained(Connection&) override { ++drained; }
    void on_event(Connection&, ConnEvent event) override { events.push_back(event); }
    bool saw(ConnEvent event) const {
        return std::find(events.begin(), events.end(), event) != events.end();
    }
};

// A TLS 1.3 client on a non-blocking socket: step() moves the handshake on and, while
// `reading`, reads what has come. `records` holds the plaintext size of each application-data
// record received (from the record headers: TLS 1.3 adds a type byte and a 16-byte tag).
class RawTlsClient {
public:
    RawTlsClient(const sockaddr* to, socklen_t length, int receive_buffer) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
        SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (receive_buffer > 0) {
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        connected_socket_ = ::connect(fd_, to, length) == 0;
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_connect_state(ssl_);
        SSL_set_msg_callback(ssl_, &RawTlsClient::on_message);
        SSL_set_msg_callback_arg(ssl_, this);
    }
    ~RawTlsClient() {
        SSL_free(ssl_);
        SSL_CTX_free(ctx_);
        close();
    }
    RawTlsClient(const RawTlsClient&) = delete;
    RawTlsClient& operator=(const RawTlsClient&) = delete;

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    bool socket_connected() const { return connected_socket_; }

    void step() {
        if (failed || eof || fd_ < 0) {
            return;
        }
        if (!handshaken) {
            const int rc = SSL_do_handshake(ssl_);
            if (rc == 1) {
                handshaken = true;
            } else {
                const int error = SSL_get_error(ssl_, rc);
                failed = error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE;
                ERR_clear_error();
                return;
            }
        }
        while (reading) {
            char buffer[64 * 1024];
            std::size_t n = 0;
            if (SSL_read_ex(ssl_, buffer, sizeof buffer, &n) == 1) {
                got.append(buffer, n);
                continue;
            }
            const int error = SSL_get_error(ssl_, 0);
            eof = error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL;
            failed = error == SSL_ERROR_SSL;
            ERR_clear_error();
            break;
        }
    }

    bool handshaken = false;
    bool reading = true;
    bool eof = false;
    bool failed = false;
    std::string got;
    std::vector<std::size_t> records;

private:
    static void on_message(int write_p, int, int content_type, const void* buf, std::size_t len,
                           SSL*, void* arg) {
        auto* self = static_cast<RawTlsClient*>(arg);
        const auto* bytes = static_cast<const unsigned char*>(buf);
        if (write_p != 0) {
            return;
        }
        if (content_type == SSL3_RT_HEADER && len == SSL3_RT_HEADER_LENGTH) {
            self->last_record_ = (std::size_t{bytes[3]} << 8) | bytes[4];
        } else if (content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
                   bytes[0] == SSL3_RT_APPLICATION_DATA) {
            self->records.push_back(self->last_record_ - 17);
        }
    }

    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    bool connected_socket_ = false;
    std::size_t last_record_ = 0;
};

class TlsWriteTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        char dir[] = "/tmp/lacquer-tls-write-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        certs = new test::TestCerts(test::make_test_certs(dir));
    }
    static void TearDownTestSuite() {
        std::filesystem::remove_all(certs->dir);
        delete certs;
    }
    void SetUp() override {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        addr_.sin_family = AF_INET;
        addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0);
        ASSERT_EQ(::listen(listener_, 8), 0);
        socklen_t length = sizeof addr_;
        ASSERT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr_), &length), 0);
        TlsServerOptions options;
        options.certificates.push_back(
            {certs->localhost.certificate, certs->localhost.private_key, {}, {}});
        std::string error;
        std::size_t failed = 0;
        context_ = TlsServerContext::create(options, nullptr, error, failed);
        ASSERT_NE(context_, nullptr) << error;
    }
    void TearDown() override { ::close(listener_); }

    // A client (receive buffer `client_buffer`, 0 = default) and the server end of its socket
    // (send buffer `server_buffer`, 0 = default).
    std::unique_ptr<RawTlsClient> connect(int client_buffer, int server_buffer, int& near) {
        auto client = std::make_unique<RawTlsClient>(reinterpret_cast<sockaddr*>(&addr_),
                                                     sizeof addr_, client_buffer);
        EXPECT_TRUE(client->socket_connected());
        near = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        EXPECT_GE(near, 0);
        if (server_buffer > 0) {
            ::setsockopt(near, SOL_SOCKET, SO_SNDBUF, &server_buffer, sizeof server_buffer);
        }
        return client;
    }
    // A server Connection that has finished its handshake with `client`.
    std::unique_ptr<Connection> serve(RawTlsClient& client, int near, Recorder& handler) {
        auto conn =
            Connection::adopt(worker_, near, nullptr, &handler, context_->accept(near, nullptr));
        EXPECT_TRUE(run_until(client, [&] { return client.handshaken && conn->is_connected(); }));
        return conn;
    }

    bool run_until(RawTlsClient& client, const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(worker_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
            client.step();
            if (!done()) {
                ::usleep(100);
            }
        }
        return done();
    }
    // Runs the loop until the connection's output has stopped shrinking (a full socket).
    void run_until_stalled(RawTlsClient& client, const Connection& conn) {
        std::size_t last = conn.output_size();
        int still = 0;
        (void)run_until(client, [&] {
            still = conn.output_size() == last ? still + 1 : 0;
            last = conn.output_size();
            return still >= 50;
        });
    }

    static test::TestCerts* certs;
    Worker worker_{0};
    int listener_ = -1;
    sockaddr_in addr_{};
    std::shared_ptr<TlsServerContext> context_;
};

test::TestCerts* TlsWriteTest::certs = nullptr;

TEST_F(TlsWriteTest, AHeadWithASmallBodyIsOneRecordAndALargeBodyIsARecordOfItsOwn) {
    int near = -1;
    auto client = connect(0, 0, near);
    Recorder server;
    auto conn = serve(*client, near, server);
    const std::string head = pattern(300, 1);
    const std::string small = pattern(1024, 2);
    const std::string large = pattern(20000, 3);
    // A head in pieces and a 1 KiB body: gathered, one record.
    const std::string_view pieces[] = {std::string_view(head).substr(0, 17),
                                       std::string_view(head).substr(17, 200),
                                       std::string_view(head).substr(217), small};
    ASSERT_EQ(conn->write_now(pieces), head.size() + small.size());
    ASSERT_TRUE(run_until(*client, [&] { return client->got.size() == 1324; }));
    EXPECT_EQ(client->records, (std::vector<std::size_t>{1324}));
    // A head and a 16 KiB body: the head's record and the body's, encrypted where it is.
    client->records.clear();
    const std::string_view sixteen[] = {head, std::string_view(large).substr(0, 16384)};
    ASSERT_EQ(conn->write_now(sixteen), 300u + 16384u);
    ASSERT_TRUE(run_until(*client, [&] { return client->got.size() == 1324 + 16684; }));
    EXPECT_EQ(client->records, (std::vector<std::size_t>{300, 16384}));
    // A body longer than a record: full records from the body, then its tail.
    client->records.clear();
    const std::string_view longer[] = {head, large};
    ASSERT_EQ(conn->write_now(longer), 300u + 20000u);
    ASSERT_TRUE(run_until(*client, [&] { return client->got.size() == 1324 + 16684 + 20300; }));
    EXPECT_EQ(client->records, (std::vector<std::size_t>{300, 16384, 3616}));
    EXPECT_EQ(client->got, head + small + head + large.substr(0, 16384) + head + large);
    EXPECT_EQ(conn->output_size(), 0u);
}

TEST_F(TlsWriteTest, APartlyTakenBatchWaitsInTheTransportAndNothingNewIsTakenMeanwhile) {
    int near = -1;
    auto client = connect(8192, 8192, near);
    std::unique_ptr<Transport> tls = context_->accept(near, nullptr);
    ASSERT_NE(tls, nullptr);
    ASSERT_TRUE(run_until(*client, [&] {
        return tls->handshake(near).status == IoStatus::Ok && client->handshaken;
    }));
    client->reading = false;
    const std::string body = pattern(4 << 20, 4);
    std::size_t at = 0;
    IoResult r;
    for (int i = 0; i < 1000 && at < body.size(); ++i) {
        const iovec vec{const_cast<char*>(body.data() + at), body.size() - at};
        r = tls->write(near, &vec, 1);
        ASSERT_NE(r.status, IoStatus::Error) << tls->error_text();
        ASSERT_LE(r.bytes, kBatchPlaintext); // one bounded batch a call
        at += r.bytes;
        if (r.status == IoStatus::WantWrite) {
            break;
        }
    }
    ASSERT_EQ(r.status, IoStatus::WantWrite) << "the socket never filled";
    // The batch was encrypted (taken) before the socket refused part of it: that part waits.
    EXPECT_GT(r.bytes, 0u);
    EXPECT_GT(tls->pending_output(), 0u);
    EXPECT_LE(tls->pending_output(), kBatchPlaintext);
    EXPECT_GE(held_output(*tls), tls->pending_output()); // the staging buffer holds it
    const std::size_t pending = tls->pending_output();
    const iovec more{const_cast<char*>(body.data() + at), body.size() - at};
    const IoResult again = tls->write(near, &more, 1);
    EXPECT_EQ(again.status, IoStatus::WantWrite);
    EXPECT_EQ(again.bytes, 0u);
    EXPECT_GT(tls->pending_output(), 0u);
    EXPECT_LE(tls->pending_output(), pending); // the socket may have taken some more of it
    // The reader comes back: the pending records go first (n == 0 sends only them), the rest
    // follows, and every byte arrives in order.
    client->reading = true;
    ASSERT_TRUE(run_until(*client, [&] {
        if (tls->pending_output() > 0) {
            return tls->write(near, nullptr, 0).status == IoStatus::Error;
        }
        if (at < body.size()) {
            const iovec vec{const_cast<char*>(body.data() + at), body.size() - at};
            r = tls->write(near, &vec, 1);
            at += r.bytes;
            return r.status == IoStatus::Error;
        }
        return client->got.size() >= body.size();
    }));
    EXPECT_EQ(tls->pending_output(), 0u);
    EXPECT_EQ(held_output(*tls), 0u) << "an idle connection keeps no staging buffer";
    EXPECT_TRUE(client->got == body);
    tls.reset();
    ::close(near);
}

TEST_F(TlsWriteTest, ASlowReaderOfAManyRecordBodyGetsItAllInOrderOnceItReads) {
    int near = -1;
    auto client = connect(8192, 8192, near);
    Recorder server;
    auto conn = serve(*client, near, server);
    client->reading = false;
    const std::string head = pattern(280, 5);
    const std::string body = pattern(2 << 20, 6);
    // As a hit is delivered: one direct batch, the rest queued behind it.
    const std::string_view parts[] = {head, body};
    const std::size_t taken = conn->write_now(parts);
    ASSERT_GT(taken, 0u);
    ASSERT_LE(taken, kBatchPlaintext);
    const std::string all = head + body;
    conn->write(std::string_view(all).substr(taken));
    run_until_stalled(*client, *conn);
    EXPECT_GT(conn->output_size(), 0u); // would block: the reader is not reading
    EXPECT_TRUE(client->got.empty());
    client->reading = true;
    ASSERT_TRUE(run_until(*client, [&] { return client->got.size() >= all.size(); }));
    EXPECT_TRUE(client->got == all);
    ASSERT_TRUE(run_until(*client, [&] { return conn->output_size() == 0 && server.drained > 0; }));
    EXPECT_TRUE(server.events.empty() ||
                (server.events.size() == 1 && server.events[0] == ConnEvent::Connected));
}

TEST_F(TlsWriteTest, ClosingWhileRecordsWaitEndsTheStreamCleanly) {
    int near = -1;
    auto client = connect(8192, 8192, near);
    Recorder server;
    auto conn = serve(*client, near, server);
    client->reading = false;
    const std::string body = pattern(1 << 20, 7);
    const std::string_view parts[] = {body};
    const std::size_t taken = conn->write_now(parts);
    conn->write(std::string_view(body).substr(taken));
    run_until_stalled(*client, *conn);
    ASSERT_GT(conn->output_size(), 0u);
    conn.reset(); // records still pending in the transport, more queued
    client->reading = true;
    ASSERT_TRUE(run_until(*client, [&] { return client->eof || client->failed; }));
    EXPECT_LT(client->got.size(), body.size());
    EXPECT_EQ(client->got, body.substr(0, client->got.size())); // a prefix, nothing garbled
}

TEST_F(TlsWriteTest, APeerThatLeavesWhileRecordsWaitIsAnEventNotAHang) {
    int near = -1;
    auto client = connect(8192, 8192, near);
    Recorder server;
    auto conn = serve(*client, near, server);
    client->reading = false;
    const std::string body = pattern(1 << 20, 8);
    const std::string_view parts[] = {body};
    const std::size_t taken = conn->write_now(parts);
    conn->write(std::string_view(body).substr(taken));
    run_until_stalled(*client, *conn);
    ASSERT_GT(conn->output_size(), 0u);
    client->close(); // unread bytes: a reset
    ASSERT_TRUE(run_until(
        *client, [&] { return server.saw(ConnEvent::Error) || server.saw(ConnEvent::Eof); }));
}

} // namespace
} // namespace lacquer::net
