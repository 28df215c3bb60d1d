// Loopback socket helpers built on poll(2), so every blocking step honours a deadline.
#include "support/socket_io.h"

#include "lacquer/core/errno_text.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::test {

namespace {

std::string errno_text(const char* what) {
    return std::string(what) + ": " + core::errno_text(errno);
}

// Waits for `events` on fd; Ok when ready. Stop wins over readiness so shutdown is prompt.
IoStatus wait_ready(int fd, short events, const Deadline& deadline, int stop_fd) {
    for (;;) {
        pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        const nfds_t count = stop_fd >= 0 ? 2 : 1;
        const int rc = ::poll(fds, count, deadline.poll_timeout_ms());
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            return IoStatus::Error;
        }
        if (count == 2 && fds[1].revents != 0) {
            return IoStatus::Stopped;
        }
        if (rc == 0 || fds[0].revents == 0) {
            if (deadline.expired()) {
                return IoStatus::Timeout;
            }
            continue;
        }
        return IoStatus::Ok;
    }
}

sockaddr_in loopback_address(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

} // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        reset(other.release());
    }
    return *this;
}

int UniqueFd::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

UniqueFd listen_loopback(std::uint16_t& port, std::string& error) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        error = errno_text("socket");
        return {};
    }
    const int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in addr = loopback_address(port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        error = errno_text(("bind 127.0.0.1:" + std::to_string(port)).c_str());
        return {};
    }
    if (::listen(fd.get(), 512) != 0) {
        error = errno_text("listen");
        return {};
    }
    port = local_port(fd.get());
    return fd;
}

UniqueFd connect_tcp(std::string_view host, std::uint16_t port, Millis timeout,
                     std::string& error) {
    const Deadline deadline(timeout);
    sockaddr_in addr = loopback_address(port);
    const std::string host_text(host);
    if (::inet_pton(AF_INET, host_text.c_str(), &addr.sin_addr) != 1) {
        error = "not an IPv4 address: " + host_text;
        return {};
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) {
        error = errno_text("socket");
        return {};
    }
    const std::string where = host_text + ":" + std::to_string(port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            error = errno_text(("connect " + where).c_str());
            return {};
        }
        if (wait_ready(fd.get(), POLLOUT, deadline, -1) != IoStatus::Ok) {
            error = "connect " + where + ": no answer within the deadline";
            return {};
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        (void)::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
            error = "connect " + where + ": " + core::errno_text(soerr);
            return {};
        }
    }
    // Back to blocking: the I/O helpers poll before every call anyway.
    const int flags = ::fcntl(fd.get(), F_GETFL);
    (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    const int one = 1;
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

std::uint16_t local_port(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return 0;
    }
    return ntohs(addr.sin_port);
}

const char* io_status_name(IoStatus status) {
    switch (status) {
    case IoStatus::Ok:
        return "ok";
    case IoStatus::Eof:
        return "connection closed by peer";
    case IoStatus::Timeout:
        return "deadline passed";
    case IoStatus::Stopped:
        return "stopped";
    case IoStatus::Error:
        return "socket error";
    }
    return "?";
}

IoStatus read_some(int fd, std::string& out, const Deadline& deadline, int stop_fd) {
    for (;;) {
        const IoStatus ready = wait_ready(fd, POLLIN, deadline, stop_fd);
        if (ready != IoStatus::Ok) {
            return ready;
        }
        char buf[16384];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            return IoStatus::Ok;
        }
        if (n == 0) {
            return IoStatus::Eof;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            continue;
        }
        // A reset is how peers often say goodbye; to the reader it is the end of the stream.
        return errno == ECONNRESET ? IoStatus::Eof : IoStatus::Error;
    }
}

IoStatus send_all(int fd, std::string_view data, const Deadline& deadline, int stop_fd) {
    while (!data.empty()) {
        const IoStatus ready = wait_ready(fd, POLLOUT, deadline, stop_fd);
        if (ready != IoStatus::Ok) {
            return ready;
        }
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            continue;
        }
        return (n < 0 && (errno == EPIPE || errno == ECONNRESET)) ? IoStatus::Eof : IoStatus::Error;
    }
    return IoStatus::Ok;
}

void close_with_reset(UniqueFd& fd) {
    if (!fd.valid()) {
        return;
    }
    const linger hard{1, 0};
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    fd.reset();
}

} // namespace lacquer::test
