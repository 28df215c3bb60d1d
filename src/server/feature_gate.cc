#include "lacquer/config/load.h"
#include "lacquer/proxy/route_table.h"
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
    }
}

void check_config(const config::Config& config) {
    check_supported(config);
    const proxy::RouteTable routes(config); // compiled as a start or a reload compiles them
}

} // namespace lacquer::server
