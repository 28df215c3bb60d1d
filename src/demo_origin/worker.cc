// Worker: event_base + SO_REUSEPORT listener. The base keeps libevent's locking (evthread is
// enabled in main) only so that stop() from the main thread can wake the loop.
#include "demo_origin/worker.h"

#include "demo_origin/connection.h"

#include <cerrno>
#include <cstring>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace lacquer::demo_origin {

namespace {

void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* worker) {
    Connection::accept(*static_cast<Worker*>(worker), fd);
}

} // namespace

Worker::Worker(Stats& stats) : stats_(stats), responder_(stats), base_(event_base_new()) {}

Worker::~Worker() {
    while (connections_ != nullptr) {
        delete connections_; // unlinks itself through forget()
    }
    if (listener_ != nullptr) {
        evconnlistener_free(listener_);
    }
    if (base_ != nullptr) {
        event_base_free(base_);
    }
}

bool Worker::listen(const sockaddr* address, int length, std::string& error) {
    if (base_ == nullptr) {
        error = "event_base_new failed";
        return false;
    }
    constexpr unsigned kFlags =
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
    listener_ = evconnlistener_new_bind(base_, &on_accept, this, kFlags, 1024, address, length);
    if (listener_ == nullptr) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): listen() runs before any worker thread starts
        error = std::string("bind: ") + std::strerror(errno);
        return false;
    }
    return true;
}

std::uint16_t Worker::bound_port() const {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (listener_ == nullptr ||
        ::getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&address),
                      &length) != 0) {
        return 0;
    }
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

void Worker::run() {
    (void)event_base_dispatch(base_);
}

void Worker::stop() {
    (void)event_base_loopbreak(base_);
}

void Worker::adopt(Connection* connection) {
    connection->prev = nullptr;
    connection->next = connections_;
    if (connections_ != nullptr) {
        connections_->prev = connection;
    }
    connections_ = connection;
}

void Worker::forget(Connection* connection) {
    if (connection->prev != nullptr) {
        connection->prev->next = connection->next;
    } else {
        connections_ = connection->next;
    }
    if (connection->next != nullptr) {
        connection->next->prev = connection->prev;
    }
}

} // namespace lacquer::demo_origin
