#include "open_files.h"

#include <ostream>
#include <string>
#include <sys/resource.h>

namespace lacquer::server {

OpenFilesNeed open_files_needed(const config::Config& config, unsigned workers) {
    OpenFilesNeed need;
    need.clients = config.limits.max_connections;
    need.listening = std::uint64_t{workers} * config.listen.size();
    for (const config::OriginPoolConfig& pool : config.origins) {
        need.origins += std::uint64_t{pool.max_connections_per_server} * pool.servers.size();
    }
    // epoll and eventfd per worker, the admin loop and listener, a few admin connections, the
    // access log, stdio, and what libraries open (resolver, /proc reads).
    need.other = 4 * std::uint64_t{workers} + 64;
    return need;
}

void ensure_open_files(const config::Config& config, unsigned workers, std::ostream& log) {
    const OpenFilesNeed need = open_files_needed(config, workers);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
        limit.rlim_cur >= need.total()) {
        return;
    }
    const rlim_t was = limit.rlim_cur;
    // An unlimited hard limit cannot be the soft one (the kernel caps it at fs.nr_open).
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? need.total() : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        limit.rlim_cur = was;
    }
    if (limit.rlim_cur >= need.total()) {
        return;
    }
    // One write: stderr is unbuffered, and readers of the journal must see whole lines.
    log << ("lacquerd: warning: the open files limit (RLIMIT_NOFILE) is " +
            std::to_string(limit.rlim_cur) + " (was " + std::to_string(was) + ", hard limit " +
            (limit.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                             : std::to_string(limit.rlim_max)) +
            "), but this config needs about " + std::to_string(need.total()) +
            " (limits.max_connections " + std::to_string(need.clients) + ", " +
            std::to_string(need.listening) + " listening sockets, " + std::to_string(need.origins) +
            " origin connections, " + std::to_string(need.other) +
            " more): past it, connections are refused; raise LimitNOFILE= (systemd) or "
            "ulimit -n, or lower limits.max_connections\n")
        << std::flush;
}

} // namespace lacquer::server
