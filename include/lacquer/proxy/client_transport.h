#pragma once
// How an accepted client connection carries its bytes, as its listener's config says: the
// plain socket (nullptr), TLS with the listener's current certificates, and in front of either
// the PROXY protocol header (required from proxy_from peers, refused from others).
// Thread: the worker's.

#include "lacquer/net/transport.h"
#include "lacquer/proxy/worker_context.h"

#include <memory>
#include <sys/socket.h>

namespace lacquer::proxy {

struct ClientTransport {
    std::unique_ptr<net::Transport> transport; // nullptr: the plain socket
    bool failed = false;                       // the TLS state could not be made: close
};

ClientTransport client_transport(WorkerContext& context, std::size_t listener, int fd,
                                 const sockaddr* peer);

} // namespace lacquer::proxy
