#pragma once
// The client listening sockets: one per worker per listen address (SO_REUSEPORT), bound by the
// server thread at start and on reload, then handed to each worker's net::Listener.

#include "lacquer/config/config.h"
#include "lacquer/net/address.h"
#include "lacquer/net/listener.h"
#include "lacquer/proxy/worker_context.h"

#include <memory>
#include <string>
#include <vector>

namespace lacquer::server {

struct BoundListener {
    std::string config_text;    // the address as the config wrote it ("127.0.0.1:0")
    net::SocketAddress address; // resolved; a port 0 is the one the first bind picked
    std::vector<int> fds;       // one per worker; -1 once a worker's Listener owns it
};

// Resolves and binds one socket per worker (throws config::ConfigError when the address does
// not resolve, std::runtime_error when a socket cannot be bound, "address in use" when a socket
// already listens there, this process's included; nothing stays open then).
BoundListener bind_listener(const config::ListenerConfig& listener, unsigned workers);
void close_unowned(BoundListener& listener);

// On `ctx`'s worker: accepts into client sessions.
std::unique_ptr<net::Listener> client_listener(net::Worker& worker, int fd,
                                               proxy::WorkerContext* ctx);

} // namespace lacquer::server
