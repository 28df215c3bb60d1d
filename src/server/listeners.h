#pragma once
// The client listening sockets: one per worker per listen address (SO_REUSEPORT), bound by the
// server thread at start and on reload, then handed to each worker's net::Listener.

#include "lacquer/config/config.h"
#include "lacquer/net/address.h"
#include "lacquer/net/connection_balancer.h"
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
    // A Unix socket: one listening socket, dup()ed per worker (SO_REUSEPORT does not spread
    // Unix connections); close_unowned() removes its file.
    bool unix_socket = false;
    // A TCP listener: sockets of its SO_REUSEPORT group beyond one per worker, served by the
    // workers as adopted listeners since a reload removed their workers (closing them would
    // refuse their backlog); the workers a later reload adds take them back before any new
    // socket is opened, so the group never grows past the most workers there ever were.
    unsigned adopted = 0;
};

// Resolves and binds one socket per worker (throws config::ConfigError when the address does
// not resolve, std::runtime_error when a socket cannot be bound, "address in use" when a socket
// already listens there, this process's included; nothing stays open then).
BoundListener bind_listener(const config::ListenerConfig& listener, unsigned workers);
// Closes the sockets no worker owns yet; removes a Unix socket's file.
void close_unowned(BoundListener& listener);

// unix_listener.cc: binds `l.unix_path` (a stale socket file nobody listens on is replaced;
// one somebody listens on is "address in use"), sets its mode and owner, and dups the socket
// for each worker. Throws like bind_listener().
BoundListener bind_unix_listener(const config::ListenerConfig& l, unsigned workers);
// A reload keeps a Unix listener: its socket file takes the mode and owner the config gives now
// (a key left out changes nothing). Throws like bind_unix_listener().
void apply_unix_permissions(const config::ListenerConfig& l);
// Removes the socket file of a Unix listener that stops.
void remove_unix_socket(const BoundListener& listener);

// On `ctx`'s worker: accepts into client sessions, or hands a new connection to a less loaded
// worker (listen[].balance: exact; net/connection_balancer.h).
std::unique_ptr<net::Listener> client_listener(net::Worker& worker, int fd,
                                               proxy::WorkerContext* ctx, std::size_t index);
// What a worker does with a connection another worker handed it: a session on the listener
// entry it was accepted on (found by its address when a reload moved it; closed when a reload
// removed it).
net::ConnectionBalancer::Deliver handed_connections(proxy::WorkerContext* ctx);

} // namespace lacquer::server
