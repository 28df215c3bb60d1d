#pragma once
// A scripted origin for the origin/ unit tests: a listening loopback socket (port 0) whose
// accepted ends the test drives by hand between turns of the worker loop that runs the code
// under test (the same thread: no locks, no sleeps for synchronisation). Every wait is bounded
// and says what it waited for when it gives up.

#include "lacquer/core/errno_text.h"
#include "lacquer/net/address.h"
#include "lacquer/net/worker.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <event2/event.h>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace lacquer::origin::loopback {

using namespace std::chrono_literals;

// Turns the loop of `worker` until `done` says so or `limit` has passed; returns whether it
// did. `done` is asked once per turn (it may act: accept, read). The short poll between turns
// lets the test's own sockets (the far ends) make progress too.
inline bool run_until(net::Worker& worker, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        event_base_loop(worker.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
        if (done()) {
            return true;
        }
        ::poll(nullptr, 0, 1);
    }
}

// Turns the loop for `span` (to show that nothing happens meanwhile).
inline void run_for(net::Worker& worker, std::chrono::milliseconds span) {
    const auto until = std::chrono::steady_clock::now() + span;
    run_until(
        worker, [&] { return std::chrono::steady_clock::now() >= until; }, span + 1s);
}

// Runs what is pending now (disposals, flushes) without waiting.
inline void settle(net::Worker& worker) {
    for (int i = 0; i < 4; ++i) {
        event_base_loop(worker.base(), EVLOOP_NONBLOCK);
    }
}

class LoopbackOrigin {
public:
    // `backlog` 0 lets exactly one connection wait in the accept queue (see fill_backlog()).
    explicit LoopbackOrigin(int backlog = 16) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        EXPECT_GE(listener_, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(listener_, backlog), 0);
        socklen_t length = sizeof addr;
        EXPECT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length), 0);
        std::memcpy(&address_.storage, &addr, sizeof addr);
        address_.length = sizeof addr;
    }
    ~LoopbackOrigin() {
        for (const int fd : fds_) {
            ::close(fd);
        }
        if (listener_ >= 0) {
            ::close(listener_);
        }
    }
    LoopbackOrigin(const LoopbackOrigin&) = delete;
    LoopbackOrigin& operator=(const LoopbackOrigin&) = delete;

    const net::SocketAddress& address() const { return address_; }

    // Nothing listens on the address any more: connects to it are refused.
    void close_listener() {
        ::close(listener_);
        listener_ = -1;
    }

    // A connection accepted now, or -1 when none is waiting.
    int try_accept() {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            fds_.push_back(fd);
            ++accepted_;
        }
        return fd;
    }
    int accepted() const { return accepted_; }

    // Turns the loop until a connection arrives; -1 (and a test failure) when none does.
    int accept(net::Worker& worker) {
        int fd = -1;
        EXPECT_TRUE(run_until(worker, [&] { return (fd = try_accept()) >= 0; }))
            << "no connection reached the origin";
        return fd;
    }

    // Turns the loop until a whole request head has arrived on `fd` and returns it (with any
    // bytes that followed it in `rest`).
    std::string read_head(net::Worker& worker, int fd, std::string* rest = nullptr) {
        std::string got;
        std::size_t end = std::string::npos;
        EXPECT_TRUE(run_until(worker,
                              [&] {
                                  read_available(fd, got);
                                  end = got.find("\r\n\r\n");
                                  return end != std::string::npos;
                              }))
            << "no complete request head; got: " << got;
        if (end == std::string::npos) {
            return got;
        }
        if (rest != nullptr) {
            *rest = got.substr(end + 4);
        }
        return got.substr(0, end + 4);
    }

    // Turns the loop until the peer has closed `fd` (EOF or reset); false when it has not.
    bool wait_closed(net::Worker& worker, int fd) {
        return run_until(worker, [&] {
            char buffer[4096];
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        });
    }

    // Turns the loop for `span` and reports whether `fd` is still open (no EOF, no reset).
    bool stays_open(net::Worker& worker, int fd, std::chrono::milliseconds span) {
        bool closed = false;
        run_until(
            worker,
            [&] {
                char buffer[4096];
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
                closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
                return closed;
            },
            span);
        return !closed;
    }

    static void send_all(int fd, std::string_view bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd p{fd, POLLOUT, 0};
                ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the far end never took the bytes";
                continue;
            }
            ASSERT_GT(n, 0) << core::errno_text(errno);
            sent += static_cast<std::size_t>(n);
        }
    }
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
    // Closes `fd` with a reset instead of a FIN.
    void reset(int fd) {
        const linger abort_on_close{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
        close(fd);
    }
    void close(int fd) {
        std::erase(fds_, fd);
        ::close(fd);
    }

    // With backlog 0: fills the accept queue with connections nobody accepts, until a further
    // connect stays unanswered (the kernel drops its SYN). Returns false if it never does.
    bool fill_backlog() {
        for (int i = 0; i < 8; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            fds_.push_back(fd);
            if (::connect(fd, address_.get(), address_.length) != 0 && errno != EINPROGRESS) {
                return false;
            }
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 50) == 0) {
                return true; // this one hangs: so will the next
            }
        }
        return false;
    }

private:
    int listener_ = -1;
    net::SocketAddress address_;
    std::vector<int> fds_;
    int accepted_ = 0;
};

} // namespace lacquer::origin::loopback
