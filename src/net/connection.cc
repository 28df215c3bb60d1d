#include "lacquer/net/connection.h"

#include "lacquer/core/assert.h"
#include "lacquer/net/tls_context.h"
#include "lacquer/net/worker.h"

#include <algorithm>
#include <cerrno>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace lacquer::net {

namespace {
// One read takes at most this much. With libevent's chain header it makes a 16 KiB chain,
// which fits the 16 KiB class of event_memory's caches.
constexpr std::size_t kReadSize = 16 * 1024 - 256;
// iovecs per sendmsg; more queued chains go in the next call.
constexpr int kMaxWriteParts = 64;

void set_nodelay(int fd) {
    const int one = 1;
    [[maybe_unused]] const int rc = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

timeval to_timeval(core::Millis ms) {
    return timeval{static_cast<time_t>(ms.count() / 1000),
                   static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// Adds (or re-adds) `ev` with an inactivity timeout, or none when `ms` is zero. libevent keeps
// the timeout of an earlier add on a persistent event even through event_add(ev, nullptr), so
// "none" adds with one and then removes the timer, which clears it. Like Timer::arm, the
// timeout counts from now, not from when the loop's wait ended (libevent's time cache).
void watch(event* ev, core::Millis ms) {
    if (ms.count() > 0) {
        const timeval tv = to_timeval(ms);
        event_base_update_cache_time(event_get_base(ev));
        event_add(ev, &tv);
        return;
    }
    const timeval any{1, 0};
    event_add(ev, &any);
    event_remove_timer(ev);
}
} // namespace

Connection::Connection(Worker& worker, int fd, ConnectionHandler* handler)
    : worker_(worker), fd_(fd), handler_(handler), transport_(&plain_transport()) {
    read_event_ =
        event_new(worker.base(), fd, EV_READ | EV_PERSIST, &Connection::on_read_event, this);
    write_event_ =
        event_new(worker.base(), fd, EV_WRITE | EV_PERSIST, &Connection::on_write_event, this);
    // Not write_event_: a persistent event made active re-adds itself with its last timeout.
    flush_event_ = event_new(worker.base(), -1, 0, &Connection::on_flush_event, this);
    input_ = evbuffer_new();
    output_ = evbuffer_new();
    LACQUER_ASSERT(read_event_ != nullptr && write_event_ != nullptr && flush_event_ != nullptr &&
                   input_ != nullptr && output_ != nullptr);
    worker_.connection_opened();
}

std::unique_ptr<Connection> Connection::adopt(Worker& worker, int fd, const sockaddr* peer,
                                              ConnectionHandler* handler,
                                              std::unique_ptr<Transport> transport) {
    evutil_make_socket_nonblocking(fd);
    if (peer == nullptr || peer->sa_family != AF_UNIX) {
        set_nodelay(fd);
    }
    std::unique_ptr<Connection> conn(new Connection(worker, fd, handler));
    conn->connected_ = true;
    if (transport != nullptr) {
        conn->owned_transport_ = std::move(transport);
        conn->transport_ = conn->owned_transport_.get();
        conn->handshaking_ = conn->transport_->needs_handshake();
    }
    if (peer != nullptr) {
        conn->peer_host_length_ = format_host(peer, conn->peer_host_, sizeof conn->peer_host_);
    }
    conn->update_reading();
    return conn;
}

std::unique_ptr<Connection> Connection::connect(Worker& worker, const SocketAddress& to,
                                                ConnectionHandler* handler, int& error,
                                                const TlsTarget* tls) {
    const int fd = socket(to.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return nullptr;
    }
    set_nodelay(fd);
    std::unique_ptr<Connection> conn(new Connection(worker, fd, handler));
    if (tls != nullptr && tls->context != nullptr) {
        conn->owned_transport_ = tls->context->connect(fd, tls->server_name, tls->session_key);
        if (conn->owned_transport_ == nullptr) {
            error = ENOMEM;
            return nullptr;
        }
        conn->transport_ = conn->owned_transport_.get();
    }
    if (::connect(fd, to.get(), static_cast<socklen_t>(to.length)) != 0 && errno != EINPROGRESS) {
        error = errno;
        return nullptr;
    }
    // Done or under way: writability says which, and the queued request follows.
    conn->connecting_ = true;
    conn->watch_writable(true);
    return conn;
}

Connection::~Connection() {
    if (destroyed_ != nullptr) {
        *destroyed_ = true;
    }
    event_free(read_event_);
    event_free(write_event_);
    event_free(flush_event_);
    evbuffer_free(input_); // runs the release of bytes still borrowed
    evbuffer_free(output_);
    owned_transport_.reset(); // before its socket closes
    ::close(fd_);
    worker_.connection_closed();
}

std::size_t Connection::input_size() const {
    return evbuffer_get_length(input_);
}

std::string_view Connection::peek() const {
    evbuffer_iovec vec{};
    if (evbuffer_peek(input_, -1, nullptr, &vec, 1) < 1) {
        return {};
    }
    return {static_cast<const char*>(vec.iov_base), vec.iov_len};
}

void Connection::drain(std::size_t n) {
    evbuffer_drain(input_, n);
    resume_after_drain();
}

std::size_t Connection::move_input_to(Connection& dst, std::size_t n) {
    const int moved = evbuffer_remove_buffer(input_, dst.output_, n);
    resume_after_drain();
    if (moved <= 0) {
        return 0;
    }
    dst.schedule_flush();
    return static_cast<std::size_t>(moved);
}

std::size_t Connection::copy_input(char* dst, std::size_t n, std::size_t skip) const {
    ev_ssize_t copied = 0;
    if (skip == 0) {
        copied = evbuffer_copyout(input_, dst, n);
    } else {
        evbuffer_ptr at{};
        if (evbuffer_ptr_set(input_, &at, skip, EVBUFFER_PTR_SET) != 0) {
            return 0;
        }
        copied = evbuffer_copyout_from(input_, &at, dst, n);
    }
    return copied < 0 ? 0 : static_cast<std::size_t>(copied);
}

std::size_t Connection::write_now(std::span<const std::string_view> parts) {
    if (output_size() != 0 || parts.empty() || !connected_ || handshaking_ || write_closed_ ||
        write_watched_ || write_wants_read_) {
        return 0; // bytes are queued (these must go after them), or the socket waits for a turn
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
    if (owned_transport_ != nullptr) {
        // TLS: encrypted and sent in one batch. Records the socket did not take wait in the
        // transport (they count in output_size()); an error shows at the flush that follows.
        const IoResult r = transport_->write(fd_, vec, static_cast<int>(n));
        if (transport_->pending_output() > 0) {
            watch_writable(true);
        }
        return r.bytes;
    }
    msghdr msg{};
    msg.msg_iov = vec;
    msg.msg_iovlen = n;
    const ssize_t sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    // Errors (EAGAIN, a reset) are left to the queued path, which reports them as events.
    return sent > 0 ? static_cast<std::size_t>(sent) : 0;
}

void Connection::write(std::string_view bytes) {
    if (!bytes.empty()) {
        evbuffer_add(output_, bytes.data(), bytes.size());
        schedule_flush();
    }
}

bool Connection::write_borrowed(const void* data, std::size_t length, BorrowRelease release,
                                void* token) {
    if (evbuffer_add_reference(output_, data, length, release, token) != 0) {
        release(data, length, token);
        return false;
    }
    schedule_flush();
    return true;
}

std::size_t Connection::output_size() const {
    return evbuffer_get_length(output_) + transport_->pending_output();
}

void Connection::set_reading(bool on) {
    reading_ = on;
    update_reading();
}

void Connection::set_drain_mark(std::size_t low) {
    drain_low_ = low;
}

void Connection::set_timeouts(core::Millis read, core::Millis write) {
    read_timeout_ = read;
    write_timeout_ = write;
    if (read_watched_) {
        watch(read_event_, read_timeout_);
    }
    if (write_watched_) {
        watch(write_event_, write_timeout_);
    }
}

void Connection::shutdown_write() {
    transport_->shutdown_write(fd_);
}

void Connection::set_peer_host(std::string_view host) {
    peer_host_length_ = std::min(host.size(), sizeof peer_host_ - 1);
    std::copy_n(host.data(), peer_host_length_, peer_host_);
}

void Connection::reset_on_close() {
    const linger abort{1, 0};
    // A failure leaves an ordinary close: nothing better is left to do with this socket.
    (void)::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
}

// ---- reading -------------------------------------------------------------------------------

void Connection::update_reading() {
    // A TLS handshake reads whatever the handler wishes.
    const bool want = (reading_ || handshaking_) && !read_suspended_ && !read_closed_ && connected_;
    if (want == read_watched_) {
        return;
    }
    read_watched_ = want;
    if (want) {
        watch(read_event_, read_timeout_);
    } else {
        event_del(read_event_);
    }
}

void Connection::resume_after_drain() {
    if (read_suspended_ && input_size() < kInputHighWatermark) {
        read_suspended_ = false;
        update_reading();
        if (read_watched_ && transport_->has_buffered_input()) {
            event_active(read_event_, EV_READ, 1); // TLS holds bytes the socket will not announce
        }
    }
}

void Connection::on_read_event(int, short what, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    if ((what & EV_TIMEOUT) != 0) {
        self->reading_ = false; // as a bufferevent does: the handler decides what follows
        self->update_reading();
        self->handler_->on_event(*self, ConnEvent::Timeout);
        return;
    }
    if (self->handshaking_) {
        self->continue_handshake();
        return;
    }
    if (self->write_wants_read_) {
        self->write_wants_read_ = false;
        bool destroyed = false;
        self->destroyed_ = &destroyed;
        self->flush();
        if (destroyed) {
            return;
        }
        self->destroyed_ = nullptr;
    }
    self->read_once();
}

void Connection::continue_handshake() {
    const IoResult r = transport_->handshake(fd_);
    switch (r.status) {
    case IoStatus::Ok:
        break;
    case IoStatus::WantRead:
        watch_writable(false);
        return; // the read event is watched while handshaking (update_reading)
    case IoStatus::WantWrite:
        watch_writable(true);
        return;
    case IoStatus::Eof:
    case IoStatus::Error:
        handshaking_ = false;
        fail(ConnEvent::Error, true);
        return;
    }
    handshaking_ = false;
    if (const std::string_view client = transport_->peer_override(); !client.empty()) {
        set_peer_host(client);
    }
    watch_writable(false);
    if (!announce_connected()) {
        return;
    }
    if (read_watched_ && transport_->has_buffered_input()) {
        event_active(read_event_, EV_READ, 1); // the client's first bytes came with the handshake
    }
}

void Connection::read_once() {
    const std::size_t held = input_size();
    if (held >= kInputHighWatermark) {
        read_suspended_ = true;
        update_reading();
        return;
    }
    const std::size_t want = std::min(kReadSize, kInputHighWatermark - held);
    evbuffer_iovec space[2];
    const int n = evbuffer_reserve_space(input_, static_cast<ev_ssize_t>(want), space, 2);
    if (n <= 0) {
        fail(ConnEvent::Error, true);
        return;
    }
    iovec vec[2];
    std::size_t offered = 0;
    for (int i = 0; i < n; ++i) {
        vec[i].iov_base = space[i].iov_base;
        vec[i].iov_len = std::min(space[i].iov_len, want - offered);
        offered += vec[i].iov_len;
    }
    const IoResult r = transport_->read(fd_, vec, n);
    if (r.status != IoStatus::Ok) {
        if (r.status == IoStatus::WantWrite) {
            read_wants_write_ = true; // TLS: the peer must take something first
            watch_writable(true);
        } else if (r.status != IoStatus::WantRead) {
            fail(r.status == IoStatus::Eof ? ConnEvent::Eof : ConnEvent::Error, true);
        }
        return;
    }
    const std::size_t got = r.bytes;
    std::size_t left = got;
    int used = 0;
    for (; used < n && left > 0; ++used) {
        space[used].iov_len = std::min(vec[used].iov_len, left);
        left -= space[used].iov_len;
    }
    evbuffer_commit_space(input_, space, used);
    if (input_size() >= kInputHighWatermark) {
        read_suspended_ = true;
        update_reading();
    } else if (transport_->has_buffered_input()) {
        event_active(read_event_, EV_READ, 1); // TLS: decoded bytes wait; take them next turn
    }
    handler_->on_readable(*this); // may dispose of this: touch nothing after
}

// ---- writing -------------------------------------------------------------------------------

void Connection::watch_writable(bool on) {
    if (on) {
        watch(write_event_, write_timeout_); // (re-)arms the write timeout too
        write_watched_ = true;
    } else if (write_watched_) {
        event_del(write_event_);
        write_watched_ = false;
    }
}

void Connection::schedule_flush() {
    // Waiting for writability (or for the connect) already brings us back; otherwise flush
    // once the current callback has returned, with whatever else it queues.
    if (write_watched_ || flush_scheduled_ || write_closed_) {
        return;
    }
    flush_scheduled_ = true;
    event_active(flush_event_, EV_WRITE, 1);
}

void Connection::on_flush_event(int, short, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    self->flush_scheduled_ = false;
    if (!self->write_watched_ && !self->write_closed_ && !self->connecting_ &&
        !self->handshaking_ && !self->write_wants_read_) {
        self->flush();
    }
}

void Connection::on_write_event(int, short what, void* arg) {
    auto* self = static_cast<Connection*>(arg);
    if (self->write_closed_) {
        return;
    }
    if ((what & EV_TIMEOUT) != 0) {
        self->fail(ConnEvent::Timeout, false);
        return;
    }
    if (self->connecting_) {
        self->finish_connect();
        return;
    }
    if (self->handshaking_) {
        self->continue_handshake();
        return;
    }
    if (self->read_wants_write_) {
        self->read_wants_write_ = false;
        self->watch_writable(self->output_size() > 0);
        bool destroyed = false;
        self->destroyed_ = &destroyed;
        self->read_once();
        if (destroyed) {
            return;
        }
        self->destroyed_ = nullptr;
    }
    self->flush();
}

void Connection::finish_connect() {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    if (error == EINPROGRESS || error == EALREADY) {
        return; // not yet: writability comes back
    }
    connecting_ = false;
    if (error != 0) {
        fail(ConnEvent::Error, false);
        return;
    }
    connected_ = true;
    watch_writable(false);
    if (transport_->needs_handshake()) {
        handshaking_ = true;
        update_reading();
        continue_handshake();
        return;
    }
    announce_connected();
}

bool Connection::announce_connected() {
    update_reading();
    bool destroyed = false;
    destroyed_ = &destroyed;
    handler_->on_event(*this, ConnEvent::Connected);
    if (!destroyed && output_size() > 0) {
        flush();
    }
    if (destroyed) {
        return false;
    }
    destroyed_ = nullptr;
    return true;
}

void Connection::flush() {
    const std::size_t before = output_size();
    while (output_size() > 0) {
        evbuffer_iovec parts[kMaxWriteParts];
        const int n =
            std::min(evbuffer_peek(output_, -1, nullptr, parts, kMaxWriteParts), kMaxWriteParts);
        iovec vec[kMaxWriteParts];
        std::size_t offered = 0;
        for (int i = 0; i < n; ++i) {
            vec[i].iov_base = parts[i].iov_base;
            vec[i].iov_len = parts[i].iov_len;
            offered += parts[i].iov_len;
        }
        // n == 0: only TLS records the transport keeps (pending_output) are left to send.
        const IoResult r = transport_->write(fd_, vec, n);
        evbuffer_drain(output_, r.bytes); // taken, whatever the status (TLS: encrypted)
        if (r.status != IoStatus::Ok) {
            if (r.status == IoStatus::WantRead) {
                write_wants_read_ = true; // TLS: the peer must send something first
                watch_writable(false);
                return;
            }
            if (r.status != IoStatus::WantWrite) {
                fail(ConnEvent::Error, false);
                return;
            }
            break;
        }
        if (r.bytes < offered && owned_transport_ == nullptr) {
            break; // the socket is full
        }
        if (r.bytes == 0 && n > 0) {
            break; // TLS took nothing and did not say why: the write event retries
        }
    }
    watch_writable(output_size() > 0);
    if (output_size() < before && output_size() <= drain_low_) {
        handler_->on_drained(*this); // may dispose of this: touch nothing after
    }
}

void Connection::fail(ConnEvent event, bool reading_side) {
    if (reading_side) {
        read_closed_ = true;
        update_reading();
    } else {
        write_closed_ = true;
        watch_writable(false);
    }
    handler_->on_event(*this, event);
}

} // namespace lacquer::net
