#pragma once
// Where each origin server name resolves, kept for the life of the process. Pools are built from
// it (every address a name resolves to becomes a server) and a resolver thread re-resolves the
// names that are due (`resolve_every`); when an address set changes, the server builds a new
// generation from the running config. A name that stops resolving keeps its last addresses.
// Thread-safe; resolving blocks, so it is never called on a worker.

#include "lacquer/config/config.h"
#include "lacquer/core/clock.h"
#include "lacquer/net/address.h"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace lacquer::origin {

class NameBook {
public:
    // Resolves host:port to its addresses; empty and `error` set when it cannot.
    using Resolver = std::function<std::vector<net::SocketAddress>(
        const std::string& host, std::uint16_t port, std::string& error)>;

    explicit NameBook(Resolver resolver = net::resolve_all);

    // The addresses of `address` now: literals as they are; a name is resolved on its first use
    // and afterwards taken from the book (refresh() keeps it current). Empty and `error` set
    // when a name has never resolved. `every` (0: never) asks refresh() to re-resolve it that
    // often; the shortest interval asked for a name wins.
    std::vector<net::SocketAddress> addresses(const config::HostPort& address, core::Duration every,
                                              std::string& error);

    // Re-resolves every name due at `now`. Returns true when a name's address set changed
    // (the caller rebuilds its pools). A name that fails keeps its addresses; the first failure
    // of a run and the recovery are written to `log`, one line each.
    bool refresh(core::Instant now, std::ostream& log);

    // The earliest time a name is due, or nullopt when none is watched.
    std::optional<core::Instant> next_due() const;

private:
    struct Entry {
        config::HostPort name;
        std::vector<net::SocketAddress> addresses;
        core::Duration every{0};
        std::optional<core::Instant> due; // set by the first refresh after `every` is known
        bool failing = false;
    };
    Resolver resolver_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_; // by "host:port"
};

// Whether two address lists hold the same addresses in the same order.
bool same_addresses(const std::vector<net::SocketAddress>& a,
                    const std::vector<net::SocketAddress>& b);

} // namespace lacquer::origin
