#include "lacquer/net/connection.h"

#include "lacquer/core/assert.h"
#include "lacquer/net/worker.h"

#include <cerrno>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace lacquer::net {

namespace {
void set_nodelay(int fd) {
    const int one = 1;
    [[maybe_unused]] const int rc = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

timeval to_timeval(core::Millis ms) {
    return timeval{static_cast<time_t>(ms.count() / 1000),
                   static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}
} // namespace

Connection::Connection(Worker& worker, bufferevent* bev, ConnectionHandler* handler)
    : worker_(worker), bev_(bev), handler_(handler) {
    bufferevent_setcb(bev_, &Connection::on_read, &Connection::on_write, &Connection::on_bev_event,
                      this);
    bufferevent_setwatermark(bev_, EV_READ, 0, kInputHighWatermark);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

std::unique_ptr<Connection> Connection::adopt(Worker& worker, int fd, const sockaddr* peer,
                                              ConnectionHandler* handler) {
    evutil_make_socket_nonblocking(fd);
    set_nodelay(fd);
    bufferevent* bev = bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == nullptr) {
        close(fd);
        return nullptr;
    }
    std::unique_ptr<Connection> conn(new Connection(worker, bev, handler));
    conn->connected_ = true;
    if (peer != nullptr) {
        conn->peer_host_length_ = format_host(peer, conn->peer_host_, sizeof conn->peer_host_);
    }
    return conn;
}

std::unique_ptr<Connection> Connection::connect(Worker& worker, const SocketAddress& to,
                                                ConnectionHandler* handler, int& error) {
    const int fd = socket(to.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return nullptr;
    }
    set_nodelay(fd);
    bufferevent* bev = bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == nullptr) {
        close(fd);
        error = ENOMEM;
        return nullptr;
    }
    std::unique_ptr<Connection> conn(new Connection(worker, bev, handler));
    if (bufferevent_socket_connect(bev, to.get(), static_cast<int>(to.length)) != 0) {
        error = EVUTIL_SOCKET_ERROR();
        if (error == 0) {
            error = ECONNREFUSED;
        }
        return nullptr;
    }
    return conn;
}

Connection::~Connection() {
    bufferevent_free(bev_);
}

std::size_t Connection::input_size() const {
    return evbuffer_get_length(bufferevent_get_input(bev_));
}

std::string_view Connection::peek() const {
    evbuffer* in = bufferevent_get_input(bev_);
    evbuffer_iovec vec{};
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) {
        return {};
    }
    return {static_cast<const char*>(vec.iov_base), vec.iov_len};
}

void Connection::drain(std::size_t n) {
    evbuffer_drain(bufferevent_get_input(bev_), n);
}

std::size_t Connection::move_input_to(Connection& dst, std::size_t n) {
    const int moved =
        evbuffer_remove_buffer(bufferevent_get_input(bev_), bufferevent_get_output(dst.bev_), n);
    return moved < 0 ? 0 : static_cast<std::size_t>(moved);
}

std::size_t Connection::copy_input(char* dst, std::size_t n, std::size_t skip) const {
    evbuffer* input = bufferevent_get_input(bev_);
    ev_ssize_t copied = 0;
    if (skip == 0) {
        copied = evbuffer_copyout(input, dst, n);
    } else {
        evbuffer_ptr at;
        if (evbuffer_ptr_set(input, &at, skip, EVBUFFER_PTR_SET) != 0) {
            return 0;
        }
        copied = evbuffer_copyout_from(input, &at, dst, n);
    }
    return copied < 0 ? 0 : static_cast<std::size_t>(copied);
}

std::size_t Connection::write_now(std::span<const std::string_view> parts) {
    if (output_size() != 0 || parts.empty()) {
        return 0; // bytes are queued: these must go after them
    }
    constexpr std::size_t kMaxParts = 8;
    iovec vec[kMaxParts];
    std::size_t n = 0;
    for (const std::string_view part : parts) {
        if (n == kMaxParts) {
            break;
        }
        vec[n].iov_base = const_cast<char*>(part.data());
        vec[n].iov_len = part.size();
        ++n;
    }
    msghdr msg{};
    msg.msg_iov = vec;
    msg.msg_iovlen = n;
    const ssize_t sent = ::sendmsg(bufferevent_getfd(bev_), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    // Errors (EAGAIN, a reset) are left to the queued path, which reports them as events.
    return sent > 0 ? static_cast<std::size_t>(sent) : 0;
}

void Connection::write(std::string_view bytes) {
    if (!bytes.empty()) {
        evbuffer_add(bufferevent_get_output(bev_), bytes.data(), bytes.size());
    }
}

bool Connection::write_borrowed(const void* data, std::size_t length, BorrowRelease release,
                                void* token) {
    if (evbuffer_add_reference(bufferevent_get_output(bev_), data, length, release, token) != 0) {
        release(data, length, token);
        return false;
    }
    return true;
}

std::size_t Connection::output_size() const {
    return evbuffer_get_length(bufferevent_get_output(bev_));
}

void Connection::set_reading(bool on) {
    if (on) {
        bufferevent_enable(bev_, EV_READ);
    } else {
        bufferevent_disable(bev_, EV_READ);
    }
}

void Connection::set_drain_mark(std::size_t low) {
    bufferevent_setwatermark(bev_, EV_WRITE, low, 0);
}

void Connection::set_timeouts(core::Millis read, core::Millis write) {
    const timeval r = to_timeval(read);
    const timeval w = to_timeval(write);
    bufferevent_set_timeouts(bev_, read.count() > 0 ? &r : nullptr,
                             write.count() > 0 ? &w : nullptr);
}

void Connection::shutdown_write() {
    const int fd = bufferevent_getfd(bev_);
    if (fd >= 0) {
        ::shutdown(fd, SHUT_WR);
    }
}

void Connection::on_read(bufferevent*, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    self->handler_->on_readable(*self); // may dispose of self: touch nothing after
}

void Connection::on_write(bufferevent*, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    self->handler_->on_drained(*self);
}

void Connection::on_bev_event(bufferevent*, short what, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    if ((what & BEV_EVENT_CONNECTED) != 0) {
        self->connected_ = true;
        self->handler_->on_event(*self, ConnEvent::Connected);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) != 0) {
        self->handler_->on_event(*self, ConnEvent::Timeout);
        return;
    }
    if ((what & BEV_EVENT_EOF) != 0) {
        self->handler_->on_event(*self, ConnEvent::Eof);
        return;
    }
    self->handler_->on_event(*self, ConnEvent::Error);
}

} // namespace lacquer::net
