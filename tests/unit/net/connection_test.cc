// net::Connection over real loopback TCP sockets, driven by its worker's loop: reads capped by
// the high watermark, queued writes flushed after the callback, the drain mark, EOF, resets,
// inactivity timeouts (set and cleared again), and non-blocking connects.
#include "lacquer/net/connection.h"
#include "lacquer/net/worker.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
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

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

struct Recorder final : ConnectionHandler {
    std::function<void(Connection&)> readable = [](Connection&) {};
    std::vector<ConnEvent> events;
    int drained = 0;
    void on_readable(Connection& conn) override { readable(conn); }
    void on_drained(Connection&) override { ++drained; }
    void on_event(Connection&, ConnEvent event) override { events.push_back(event); }
};

// A listening loopback socket (port 0) and plain blocking helpers for the far end.
class ConnectionTest : public ::testing::Test {
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

    // A connected pair: the Connection under test adopts one end, the test keeps the other.
    std::unique_ptr<Connection> adopt_pair(Recorder& handler, int& far) {
        far = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT_EQ(::connect(far, address_.get(), address_.length), 0);
        const int near = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        EXPECT_GE(near, 0);
        fds_.push_back(far);
        return Connection::adopt(worker_, near, nullptr, &handler);
    }

    // Runs the loop until `done` or 5 s have passed; returns done().
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(worker_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
            if (!done()) {
                ::usleep(500);
            }
        }
        return done();
    }
    void run_for(std::chrono::milliseconds span) {
        const auto until = std::chrono::steady_clock::now() + span;
        run_until([&] { return std::chrono::steady_clock::now() >= until; });
    }

    static void send_all(int fd, const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            ASSERT_GT(n, 0);
            sent += static_cast<std::size_t>(n);
        }
    }
    // Reads what is there now (non-blocking) and appends it.
    static void read_available(int fd, std::string& into) {
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n <= 0) {
                return;
            }
            into.append(buffer, static_cast<std::size_t>(n));
        }
    }
    static std::string pattern(std::size_t n) {
        std::string s(n, '\0');
        for (std::size_t i = 0; i < n; ++i) {
            s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
        }
        return s;
    }

    Worker worker_{0};
    int listener_ = -1;
    SocketAddress address_;
    std::vector<int> fds_;
};

TEST_F(ConnectionTest, InputStopsAtTheHighWatermarkAndResumesWhenDrained) {
    Recorder handler;
    int far = -1;
    auto conn = adopt_pair(handler, far);
    const std::string sent = pattern(1024 * 1024);
    std::size_t peak = 0;
    handler.readable = [&](Connection& c) { peak = std::max(peak, c.input_size()); };
    std::thread writer([&] { send_all(far, sent); });
    ASSERT_TRUE(run_until([&] { return conn->input_size() >= Connection::kInputHighWatermark; }));
    run_for(50ms); // nothing more is read while the handler leaves the input alone
    EXPECT_GE(conn->input_size(), Connection::kInputHighWatermark);
    EXPECT_LT(conn->input_size(), Connection::kInputHighWatermark + 16 * 1024);
    std::string got;
    handler.readable = [&](Connection& c) {
        const std::size_t n = c.input_size();
        got.resize(got.size() + n);
        c.copy_input(got.data() + got.size() - n, n);
        c.drain(n);
    };
    const std::size_t held = conn->input_size();
    got.resize(held);
    conn->copy_input(got.data(), held);
    conn->drain(held); // resumes reading
    ASSERT_TRUE(run_until([&] { return got.size() == sent.size(); }));
    writer.join();
    EXPECT_EQ(got, sent);
    EXPECT_LT(peak, Connection::kInputHighWatermark + 16 * 1024);
    EXPECT_TRUE(handler.events.empty());
}

TEST_F(ConnectionTest, WritesAreFlushedAfterTheCallbackAndTheDrainMarkIsReported) {
    Recorder handler;
    int far = -1;
    auto conn = adopt_pair(handler, far);
    conn->write("one ");
    conn->write("two ");
    EXPECT_EQ(conn->output_size(), 8u); // queued until the loop runs
    ASSERT_TRUE(run_until([&] { return handler.drained == 1; }));
    EXPECT_EQ(conn->output_size(), 0u);
    std::string got;
    ASSERT_TRUE(run_until([&] {
        read_available(far, got);
        return got.size() == 8;
    }));
    EXPECT_EQ(got, "one two ");

    // More than the socket takes: the rest waits for writability, in order, and the drain
    // mark is reported once the far end has read enough.
    conn->set_drain_mark(1024);
    const std::string big = pattern(8 * 1024 * 1024);
    conn->write(big);
    run_for(20ms);
    EXPECT_GT(conn->output_size(), 1024u);
    const int drained_before = handler.drained;
    got.clear();
    ASSERT_TRUE(run_until([&] {
        read_available(far, got);
        return got.size() == big.size();
    }));
    EXPECT_EQ(got, big);
    EXPECT_GT(handler.drained, drained_before);
    EXPECT_TRUE(handler.events.empty());
}

TEST_F(ConnectionTest, MovedInputGoesOutWithoutACopyAndInOrder) {
    Recorder a_handler;
    Recorder b_handler;
    int a_far = -1;
    int b_far = -1;
    auto a = adopt_pair(a_handler, a_far);
    auto b = adopt_pair(b_handler, b_far);
    a_handler.readable = [&](Connection& c) {
        b->write("[");
        c.move_input_to(*b, c.input_size());
        b->write("]");
    };
    send_all(a_far, "hello");
    std::string got;
    ASSERT_TRUE(run_until([&] {
        read_available(b_far, got);
        return got == "[hello]";
    }));
    EXPECT_EQ(a->input_size(), 0u);
}

TEST_F(ConnectionTest, EndOfStreamAndResetAreReported) {
    Recorder handler;
    int far = -1;
    auto conn = adopt_pair(handler, far);
    ::shutdown(far, SHUT_WR);
    ASSERT_TRUE(run_until([&] { return !handler.events.empty(); }));
    EXPECT_EQ(handler.events.front(), ConnEvent::Eof);

    Recorder reset_handler;
    int reset_far = -1;
    auto reset = adopt_pair(reset_handler, reset_far);
    const linger abort_on_close{1, 0};
    ::setsockopt(reset_far, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    ::close(reset_far);
    std::erase(fds_, reset_far);
    ASSERT_TRUE(run_until([&] { return !reset_handler.events.empty(); }));
    EXPECT_EQ(reset_handler.events.front(), ConnEvent::Error);
}

TEST_F(ConnectionTest, ReadTimeoutFiresAndCanBeClearedAgain) {
    Recorder handler;
    int far = -1;
    auto conn = adopt_pair(handler, far);
    conn->set_timeouts(core::Millis(30), core::Millis(0));
    ASSERT_TRUE(run_until([&] { return !handler.events.empty(); }));
    EXPECT_EQ(handler.events.front(), ConnEvent::Timeout);

    // Cleared: reading again with no timeout stays quiet, and data still arrives.
    Recorder quiet;
    int quiet_far = -1;
    auto calm = adopt_pair(quiet, quiet_far);
    calm->set_timeouts(core::Millis(30), core::Millis(0));
    calm->set_timeouts(core::Millis(0), core::Millis(0));
    std::string got;
    quiet.readable = [&](Connection& c) {
        got.append(c.peek());
        c.drain(c.peek().size());
    };
    send_all(quiet_far, "x");
    ASSERT_TRUE(run_until([&] { return got == "x"; }));
    run_for(100ms);
    EXPECT_TRUE(quiet.events.empty());
}

TEST_F(ConnectionTest, WriteTimeoutFiresWhenThePeerDoesNotRead) {
    Recorder handler;
    int far = -1;
    auto conn = adopt_pair(handler, far);
    conn->set_timeouts(core::Millis(0), core::Millis(50));
    conn->write(pattern(16 * 1024 * 1024)); // far more than the socket buffers hold
    ASSERT_TRUE(run_until([&] { return !handler.events.empty(); }));
    EXPECT_EQ(handler.events.front(), ConnEvent::Timeout);
}

TEST_F(ConnectionTest, ConnectDeliversWhatWasQueuedBeforeIt) {
    Recorder handler;
    int error = 0;
    auto conn = Connection::connect(worker_, address_, &handler, error);
    ASSERT_NE(conn, nullptr) << error;
    EXPECT_FALSE(conn->is_connected());
    conn->write("GET / HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(run_until([&] { return !handler.events.empty(); }));
    EXPECT_EQ(handler.events.front(), ConnEvent::Connected);
    EXPECT_TRUE(conn->is_connected());
    const int far = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(far, 0);
    fds_.push_back(far);
    std::string got;
    ASSERT_TRUE(run_until([&] {
        read_available(far, got);
        return got.size() == 18;
    }));
    EXPECT_EQ(got, "GET / HTTP/1.1\r\n\r\n");
    std::string back;
    handler.readable = [&](Connection& c) {
        back.append(c.peek());
        c.drain(c.peek().size());
    };
    send_all(far, "HTTP/1.1 204 No Content\r\n\r\n");
    ASSERT_TRUE(run_until([&] { return back.size() == 27; }));
}

TEST_F(ConnectionTest, ConnectToAClosedPortFails) {
    SocketAddress closed = address_;
    ::close(listener_);
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); // nothing listens any more
    Recorder handler;
    int error = 0;
    auto conn = Connection::connect(worker_, closed, &handler, error);
    if (conn == nullptr) {
        EXPECT_EQ(error, ECONNREFUSED); // refused at once
        return;
    }
    ASSERT_TRUE(run_until([&] { return !handler.events.empty(); }));
    EXPECT_EQ(handler.events.front(), ConnEvent::Error);
    EXPECT_FALSE(conn->is_connected());
}

} // namespace
} // namespace lacquer::net
