#include "lacquer/net/listener.h"

#include "lacquer/core/assert.h"
#include "lacquer/core/errno_text.h"
#include "lacquer/net/worker.h"

#include <cerrno>
#include <cstdio>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::net {

namespace {

std::string bind_error(int error) {
    if (error == EADDRINUSE) {
        return std::string(kAddressInUse) + " (another process listens there)";
    }
    return core::errno_text(error);
}

} // namespace

int open_listening_socket(const SocketAddress& address, std::string& error, bool shared) {
    const int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = core::errno_text(errno);
        return -1;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); // TIME_WAIT does not block
    if ((shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, address.get(), address.length) != 0 || listen(fd, 4096) != 0) {
        error = bind_error(errno);
        close(fd);
        return -1;
    }
    return fd;
}

int claim_address(SocketAddress& address, std::string& error) {
    const int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = core::errno_text(errno);
        return -1;
    }
    const int one = 1;
    // SO_REUSEADDR and no SO_REUSEPORT: the bind fails exactly when a socket listens on the
    // address (ours with SO_REUSEPORT too), not for TIME_WAIT leftovers.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, address.get(), address.length) != 0) {
        error = bind_error(errno);
        close(fd);
        return -1;
    }
    if (address.port() == 0) {
        address.length = sizeof address.storage;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0) {
            error = core::errno_text(errno);
            close(fd);
            return -1;
        }
    }
    return fd;
}

Listener::Listener(Worker& worker, int fd, OnAccept on_accept)
    : worker_(worker), listener_(nullptr), on_accept_(std::move(on_accept)), fd_(fd),
      backoff_(worker, &Listener::on_backoff_done, this) {
    listener_ = evconnlistener_new(worker.base(), &Listener::on_accept_cb, this,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    LACQUER_ASSERT(listener_ != nullptr);
    evconnlistener_set_error_cb(listener_, &Listener::on_error_cb);
}

Listener::~Listener() {
    evconnlistener_free(listener_);
}

void Listener::pause() {
    evconnlistener_disable(listener_);
}
void Listener::resume() {
    evconnlistener_enable(listener_);
}

int Listener::hand_over() {
    evconnlistener_disable(listener_);
    backoff_.cancel();
    return fcntl(fd_, F_DUPFD_CLOEXEC, 0);
}

int Listener::duplicate() const {
    return fcntl(fd_, F_DUPFD_CLOEXEC, 0);
}

std::uint16_t Listener::port() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return 0;
    }
    SocketAddress a;
    a.storage = ss;
    a.length = len;
    return a.port();
}

void Listener::on_accept_cb(evconnlistener*, int fd, sockaddr* peer, int, void* arg) {
    auto* self = static_cast<Listener*>(arg);
    self->on_accept_(fd, peer, self->index_);
}

void Listener::on_error_cb(evconnlistener*, void* arg) {
    auto* self = static_cast<Listener*>(arg);
    const int error = errno;
    if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
        return; // per-connection errors (ECONNABORTED...): the next accept is fine
    }
    // The connection stays in the backlog and the socket stays readable: libevent would call
    // accept again at once, forever. Pause, then try again.
    evconnlistener_disable(self->listener_);
    self->backoff_.arm(kAcceptBackoff);
    ++self->accept_pauses_;
    const core::Instant now = self->worker_.now();
    if (self->last_report_ == core::Instant{} ||
        now - self->last_report_ > std::chrono::minutes(1)) {
        self->last_report_ = now;
        std::fprintf(stderr,
                     "accept: %s; accepting pauses %lld ms at a time (reported once a minute)\n",
                     core::errno_text(error), static_cast<long long>(kAcceptBackoff.count()));
    }
}

void Listener::on_backoff_done(void* arg) {
    evconnlistener_enable(static_cast<Listener*>(arg)->listener_);
}

} // namespace lacquer::net
