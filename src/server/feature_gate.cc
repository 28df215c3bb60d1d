#include "lacquer/config/load.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/server/server.h"
#include "tls_setup.h"

namespace lacquer::server {

namespace {
[[noreturn]] void refuse(const config::SourceMark& mark, const std::string& what) {
    throw config::ConfigError(mark, what + " is not supported by this build of lacquerd yet");
}
} // namespace

void check_supported(const config::Config& config) {
    for (const config::OriginPoolConfig& o : config.origins) {
        if (o.health) {
            refuse(o.health->mark, "an active health probe");
        }
    }
}

void check_config(const config::Config& config) {
    check_supported(config);
    build_listener_tls(config, nullptr);    // the certificates and keys must load and match
    const proxy::RouteTable routes(config); // compiled as a start or a reload compiles them
}

} // namespace lacquer::server
