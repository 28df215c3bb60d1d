#include "lacquer/config/load.h"
#include "lacquer/server/server.h"

namespace lacquer::server {

namespace {
[[noreturn]] void refuse(const config::SourceMark& mark, const std::string& what) {
    throw config::ConfigError(mark, what + " is not supported by this build of lacquerd yet");
}
} // namespace

void check_supported(const config::Config& config) {
    for (const config::ListenerConfig& l : config.listen) {
        if (l.tls) {
            refuse(l.mark, "TLS on a listener");
        }
    }
    for (const config::OriginPoolConfig& o : config.origins) {
        if (o.tls.enabled) {
            refuse(o.tls_mark, "TLS to origins");
        }
        if (o.health) {
            refuse(o.health->mark, "an active health probe");
        }
    }
    if (config.admin.present) {
        refuse(config.admin.mark, "the admin listener");
    }
    if (config.storage.present) {
        refuse(config.storage.mark, "`storage` (caching)");
    }
    if (!config.variants.empty()) {
        refuse(config.variants.front().mark, "`variants` (caching)");
    }
    for (const config::RouteConfig& r : config.routes) {
        if (r.cache) {
            refuse(r.cache->mark, "a `cache` policy (caching)");
        }
    }
    if (config.default_route.present && !config.default_route.reject && !config.default_route.pass) {
        refuse(config.default_route.mark, "a caching `default_route`");
    }
    if (config.log.access != config::AccessLogTarget::Off) {
        // Accepted: the access log is written by the metrics/log module when it lands; until
        // then nothing is written, which the default config states (log: { access: off }).
    }
}

} // namespace lacquer::server
