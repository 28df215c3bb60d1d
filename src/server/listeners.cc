#include "listeners.h"

#include "lacquer/config/load.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/proxy_metrics.h"

#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::server {

BoundListener bind_listener(const config::ListenerConfig& l, unsigned workers) {
    if (!l.unix_path.empty()) {
        return bind_unix_listener(l, workers);
    }
    std::string error;
    auto address = net::resolve(l.address.host, l.address.port, error);
    if (!address) {
        throw config::ConfigError(l.mark, "cannot resolve listen address '" + l.address.text() +
                                              "': " + error);
    }
    BoundListener bound;
    bound.config_text = l.address.text();
    // Nobody listens there yet (another lacquerd's SO_REUSEPORT group would take our workers
    // in and split the traffic); with port 0 the claim picks the port the workers bind to.
    const int claim = net::claim_address(*address, error);
    if (claim < 0) {
        throw std::runtime_error("cannot listen on " + l.address.text() + ": " + error);
    }
    for (unsigned w = 0; w < workers; ++w) {
        const int fd = net::open_listening_socket(*address, error, true);
        if (fd < 0) {
            close(claim);
            close_unowned(bound);
            throw std::runtime_error("cannot listen on " + l.address.text() + ": " + error);
        }
        bound.fds.push_back(fd);
    }
    close(claim); // the workers' sockets listen now: a later claim of this address fails
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
    if (listener.unix_socket) { // the listener stops (or never started): its file goes
        remove_unix_socket(listener);
    }
}

std::unique_ptr<net::Listener> client_listener(net::Worker& worker, int fd,
                                               proxy::WorkerContext* ctx, std::size_t index) {
    auto listener = std::make_unique<net::Listener>(
        worker, fd, [ctx](int client, const sockaddr* peer, std::size_t listen_index) {
            const std::vector<config::ListenerConfig>& listen = ctx->config().listen;
            if (ctx->balancer != nullptr && listen_index < listen.size() &&
                listen[listen_index].balance_exact) {
                const int to = ctx->balancer->pick(ctx->worker.index());
                if (to >= 0 &&
                    ctx->balancer->hand_to(static_cast<unsigned>(to), client, peer, listen_index,
                                           listen[listen_index].address_text())) {
                    if (const proxy::ProxyMetrics* m = ctx->metrics()) {
                        ctx->count(m->connections_moved);
                    }
                    return;
                }
            }
            proxy::ClientSession::start(*ctx, client, peer, listen_index);
        });
    listener->set_index(index);
    return listener;
}

net::ConnectionBalancer::Deliver handed_connections(proxy::WorkerContext* ctx) {
    return [ctx](int fd, const sockaddr* peer, std::size_t index, std::string_view key) {
        const std::vector<config::ListenerConfig>& listen = ctx->config().listen;
        if (index >= listen.size() || listen[index].address_text() != key) {
            index = listen.size();
            for (std::size_t j = 0; j < listen.size(); ++j) {
                if (listen[j].address_text() == key) {
                    index = j;
                }
            }
            if (index == listen.size()) {
                ::close(fd); // its listener is gone, as its backlog's connections are
                return;
            }
        }
        proxy::ClientSession::start(*ctx, fd, peer, index);
    };
}

} // namespace lacquer::server
