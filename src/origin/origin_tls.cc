// TLS to origins: a pool's `tls` key made into a context and per-server targets.
#include "lacquer/config/load.h"
#include "lacquer/origin/origin_pool.h"

#include <cstdio>

namespace lacquer::origin {

void apply_origin_tls(const config::OriginPoolConfig& pool, OriginPoolSpec& spec) {
    if (!pool.tls.enabled) {
        return;
    }
    net::TlsClientOptions options;
    options.verify = pool.tls.verify;
    options.ca_file = pool.tls.ca_file;
    options.certificate = pool.tls.certificate;
    options.private_key = pool.tls.private_key;
    std::string error;
    spec.tls = net::TlsClientContext::create(options, error);
    if (!spec.tls) {
        throw config::ConfigError(pool.tls_mark, "tls: " + error);
    }
    if (!pool.tls.verify) {
        std::fprintf(stderr,
                     "lacquerd: warning: origins.%s.tls.verify is false: its servers' "
                     "certificates are not checked\n",
                     pool.name.c_str());
    }
    for (std::size_t i = 0; i < spec.servers.size(); ++i) {
        net::TlsTarget& target = spec.servers[i].tls;
        target.context = spec.tls.get();
        target.server_name =
            pool.tls.server_name.empty() ? spec.servers[i].configured.host : pool.tls.server_name;
        target.session_key = pool.name + "/" + spec.servers[i].name;
    }
}

} // namespace lacquer::origin
