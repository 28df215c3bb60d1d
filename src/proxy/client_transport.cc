#include "lacquer/proxy/client_transport.h"

#include "lacquer/config/address_range.h"
#include "lacquer/net/address.h"
#include "lacquer/net/proxy_header.h"
#include "lacquer/net/tls_context.h"

namespace lacquer::proxy {

ClientTransport client_transport(WorkerContext& context, std::size_t listener, int fd,
                                 const sockaddr* peer) {
    ClientTransport out;
    const Generation& generation = context.current->shared();
    if (listener >= generation.config.listen.size()) {
        return out;
    }
    if (listener < generation.listener_tls.size() && generation.listener_tls[listener]) {
        out.transport = generation.listener_tls[listener]->accept(fd, context.shard);
        out.failed = out.transport == nullptr;
    }
    const config::ListenerConfig& l = generation.config.listen[listener];
    if (l.proxy_protocol && !out.failed) {
        char host[64] = {};
        const std::size_t length = peer != nullptr ? net::format_host(peer, host, sizeof host) : 0;
        const std::string_view peer_host(host, length);
        // A Unix socket's clients are local processes that its file mode lets in.
        bool trusted = peer != nullptr && peer->sa_family == AF_UNIX;
        for (const config::AddressRange& range : l.proxy_from) {
            trusted = trusted || config::range_contains(range, peer_host);
        }
        out.transport = net::proxy_protocol_transport(std::move(out.transport), trusted);
    }
    return out;
}

} // namespace lacquer::proxy
