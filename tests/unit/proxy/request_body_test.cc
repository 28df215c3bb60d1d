// proxy::RequestBody over real loopback connections: bodies arriving in any pieces (Content-Length
// and chunked), the limit refused on a chunk's declared size, bad chunked framing, bytes after
// the body left alone, the spill to an unlinked file, and sending the same body twice.
#include "lacquer/net/connection.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/request_body.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <event2/event.h>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace lacquer::proxy {
namespace {

using namespace std::chrono_literals;
using Status = RequestBody::Status;

struct Quiet final : net::ConnectionHandler {
    void on_readable(net::Connection&) override {}
    void on_drained(net::Connection&) override {}
    void on_event(net::Connection&, net::ConnEvent) override {}
};

class RequestBodyTest : public ::testing::Test {
protected:
    void SetUp() override {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(listener_, 0);
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
    void TearDown() override {
        for (const int fd : fds_) {
            ::close(fd);
        }
        ::close(listener_);
    }

    // A Connection on one end of a loopback pair; `far` is the test's end.
    std::unique_ptr<net::Connection> pair(int& far) {
        far = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT_EQ(::connect(far, address_.get(), address_.length), 0);
        const int near = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        EXPECT_GE(near, 0);
        fds_.push_back(far);
        return net::Connection::adopt(worker_, near, nullptr, &quiet_);
    }

    // Runs the loop until `done` or 5 s have passed; returns done().
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

    // Sends `wire` to `conn` in pieces of `piece` bytes, reading the body after each one until
    // it ends; what is left of `wire` then follows in one piece, unread.
    RequestBody::Read feed(RequestBody& body, net::Connection& conn, int far,
                           const std::string& wire, std::size_t piece) {
        RequestBody::Read last{Status::NeedMore, 0};
        std::size_t off = 0;
        while (off < wire.size() && last.status == Status::NeedMore) {
            const std::size_t n = std::min(piece, wire.size() - off);
            EXPECT_EQ(::send(far, wire.data() + off, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
            off += n;
            EXPECT_TRUE(run_until([&] { return conn.input_size() > 0; }));
            last = body.read(conn);
        }
        const std::size_t rest = wire.size() - off;
        EXPECT_EQ(::send(far, wire.data() + off, rest, MSG_NOSIGNAL), static_cast<ssize_t>(rest));
        return last;
    }

    // Sends the body to a fresh connection and returns what its far end received.
    std::string sent_bytes(RequestBody& body) {
        int far = -1;
        auto to = pair(far);
        std::string got;
        bool failed = false;
        bool all = false;
        // A small high mark: the body goes out in several turns, as under backpressure.
        EXPECT_TRUE(run_until([&] {
            if (!all) {
                all = body.send(*to, 20 * 1024, failed);
            }
            char buffer[65536];
            ssize_t n = 0;
            while ((n = ::recv(far, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
                got.append(buffer, static_cast<std::size_t>(n));
            }
            return failed || (all && got.size() >= body.size());
        }));
        EXPECT_FALSE(failed);
        return got;
    }

    static std::string pattern(std::size_t n) {
        std::string s(n, '\0');
        for (std::size_t i = 0; i < n; ++i) {
            s[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
        }
        return s;
    }

    static RequestBody::Limits limits(std::uint64_t max, std::size_t memory,
                                      std::string_view dir = "/tmp") {
        return {max, memory, dir};
    }

    net::Worker worker_{0};
    Quiet quiet_;
    int listener_ = -1;
    net::SocketAddress address_;
    std::vector<int> fds_;
};

constexpr http::Framing kChunked{http::Framing::Kind::Chunked, 0};
http::Framing length(std::uint64_t n) {
    return {http::Framing::Kind::Length, n};
}

TEST_F(RequestBodyTest, LengthBodyInAnyPiecesLeavesTheNextRequestAlone) {
    const std::string wire = "0123456789GET / HTTP/1.1\r\n";
    for (const std::size_t piece : {std::size_t(1), std::size_t(4), wire.size()}) {
        SCOPED_TRACE(piece);
        int far = -1;
        auto conn = pair(far);
        RequestBody body;
        body.begin(length(10), limits(1024, 64));
        const RequestBody::Read got = feed(body, *conn, far, wire, piece);
        EXPECT_EQ(got.status, Status::Complete);
        EXPECT_EQ(body.size(), 10u);
        EXPECT_FALSE(body.spilled());
        EXPECT_TRUE(run_until([&] { return conn->input_size() == 16; }));
        EXPECT_EQ(conn->peek().substr(0, 3), "GET"); // not taken: the next request's
        EXPECT_EQ(sent_bytes(body), "0123456789");
    }
}

TEST_F(RequestBodyTest, ChunkedBodyIsDecodedWhateverThePieces) {
    const std::string wire =
        "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: dropped\r\n\r\nNEXT";
    for (const std::size_t piece : {std::size_t(1), std::size_t(3), wire.size()}) {
        SCOPED_TRACE(piece);
        int far = -1;
        auto conn = pair(far);
        RequestBody body;
        body.begin(kChunked, limits(1024, 4)); // "hell" in memory, the rest in the file
        EXPECT_EQ(feed(body, *conn, far, wire, piece).status, Status::Complete);
        EXPECT_EQ(body.size(), 11u);
        EXPECT_TRUE(body.spilled());
        EXPECT_EQ(sent_bytes(body), "hello world");
        EXPECT_TRUE(run_until([&] { return conn->input_size() == 4; })); // "NEXT" stays
    }
}

TEST_F(RequestBodyTest, ChunkOverTheLimitIsRefusedOnItsDeclaredSize) {
    int far = -1;
    auto conn = pair(far);
    RequestBody body;
    body.begin(kChunked, limits(10, 64));
    // 6 bytes fit; the next chunk says 5 more, over 10: refused before its data is read.
    EXPECT_EQ(feed(body, *conn, far, "6\r\nabcdef\r\n5\r\n", 64).status, Status::TooLarge);
    EXPECT_EQ(body.size(), 6u);

    RequestBody exact;
    int far2 = -1;
    auto conn2 = pair(far2);
    exact.begin(kChunked, limits(10, 64));
    EXPECT_EQ(feed(exact, *conn2, far2, "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", 64).status,
              Status::Complete);
    EXPECT_EQ(exact.size(), 10u);
}

TEST_F(RequestBodyTest, BrokenChunkedFramingIsBadFraming) {
    for (const std::string wire : {"zz\r\n", "3\r\nabcX\r\n", "3\nabc\r\n"}) {
        SCOPED_TRACE(wire);
        int far = -1;
        auto conn = pair(far);
        RequestBody body;
        body.begin(kChunked, limits(1024, 64));
        EXPECT_EQ(feed(body, *conn, far, wire, 64).status, Status::BadFraming);
    }
}

TEST_F(RequestBodyTest, SpilledBodyCanBeSentAgainAndClearGivesEverythingBack) {
    const std::string data = pattern(300 * 1024 + 7);
    int far = -1;
    auto conn = pair(far);
    RequestBody body;
    body.begin(length(data.size()), limits(1 << 20, 1000));
    std::thread writer([&] {
        std::size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::send(far, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n <= 0) {
                return;
            }
            off += static_cast<std::size_t>(n);
        }
    });
    RequestBody::Read got{Status::NeedMore, 0};
    EXPECT_TRUE(run_until([&] {
        got = body.read(*conn);
        return got.status != Status::NeedMore;
    }));
    writer.join();
    ASSERT_EQ(got.status, Status::Complete);
    EXPECT_TRUE(body.spilled());
    EXPECT_TRUE(sent_bytes(body) == data);
    EXPECT_TRUE(body.all_sent());
    body.rewind(); // e.g. a retry on another connection
    EXPECT_FALSE(body.all_sent());
    EXPECT_TRUE(sent_bytes(body) == data);
    body.clear();
    EXPECT_FALSE(body.holds_resources());
    EXPECT_EQ(body.size(), 0u);
    EXPECT_TRUE(body.all_sent()); // nothing left to send after clear()
}

TEST_F(RequestBodyTest, AMissingTempDirFailsOnlyWhenTheBodySpills) {
    int far = -1;
    auto conn = pair(far);
    RequestBody fits;
    fits.begin(length(8), limits(1024, 8, "/nonexistent/lacquer"));
    EXPECT_EQ(feed(fits, *conn, far, "12345678", 64).status, Status::Complete);

    RequestBody spills;
    spills.begin(length(9), limits(1024, 8, "/nonexistent/lacquer"));
    EXPECT_EQ(feed(spills, *conn, far, "123456789", 64).status, Status::StorageFailed);
}

} // namespace
} // namespace lacquer::proxy
