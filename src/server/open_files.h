#pragma once
// The open-files limit (RLIMIT_NOFILE) against what a config needs: every client connection
// up to limits.max_connections, a listening socket per worker per address, the origin
// connections the pools may open, and a margin for the rest. Start-up and reload only.

#include "lacquer/config/config.h"

#include <cstdint>
#include <iosfwd>

namespace lacquer::server {

struct OpenFilesNeed {
    std::uint64_t clients = 0;   // limits.max_connections
    std::uint64_t listening = 0; // workers x listen addresses
    std::uint64_t origins = 0;   // every server's max_connections_per_server
    std::uint64_t other = 0;     // per worker (epoll, eventfd), admin, access log, stdio
    std::uint64_t total() const { return clients + listening + origins + other; }
};
OpenFilesNeed open_files_needed(const config::Config& config, unsigned workers);

// When the soft limit is below what `config` needs, raises it to the hard limit (the soft one
// is low for select()'s sake; libevent uses epoll), and when even that is short, writes one
// warning line to `log`: connections past the limit fail in accept() (EMFILE) and are refused.
void ensure_open_files(const config::Config& config, unsigned workers, std::ostream& log);

} // namespace lacquer::server
