#include "listeners.h"

#include "lacquer/config/load.h"
#include "lacquer/proxy/client_session.h"

#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::server {

BoundListener bind_listener(const config::ListenerConfig& l, unsigned workers) {
    std::string error;
    auto address = net::resolve(l.address.host, l.address.port, error);
    if (!address) {
        throw config::ConfigError(l.mark, "cannot resolve listen address '" + l.address.text() +
                                              "': " + error);
    }
    BoundListener bound;
    bound.config_text = l.address.text();
    // With port 0, the first bind picks the port and the others join it.
    for (unsigned w = 0; w < workers; ++w) {
        const int fd = net::open_listening_socket(*address, error);
        if (fd < 0) {
            close_unowned(bound);
            throw std::runtime_error("cannot listen on " + l.address.text() + ": " + error);
        }
        if (w == 0 && address->port() == 0) {
            address->length = sizeof address->storage;
            getsockname(fd, reinterpret_cast<sockaddr*>(&address->storage), &address->length);
        }
        bound.fds.push_back(fd);
    }
    bound.address = *address;
    return bound;
}

void close_unowned(BoundListener& listener) {
    for (int& fd : listener.fds) {
        if (fd >= 0) {
            close(fd);
            fd = -1;
        }
    }
}

std::unique_ptr<net::Listener> client_listener(net::Worker& worker, int fd,
                                               proxy::WorkerContext* ctx) {
    return std::make_unique<net::Listener>(worker, fd, [ctx](int client, const sockaddr* peer) {
        proxy::ClientSession::start(*ctx, client, peer);
    });
}

} // namespace lacquer::server
