#include "lacquer/config/load.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/server/server.h"
#include "tls_setup.h"

namespace lacquer::server {

void check_supported(const config::Config&) {
    // Every key this build reads is supported (TLS and health probes landed in round 2). This
    // stays the one place where a key that is read before its feature lands is refused, with
    // its FILE:LINE:COL: "... is not supported by this build of lacquerd yet".
}

void check_config(const config::Config& config) {
    check_supported(config);
    build_listener_tls(config, nullptr);    // the certificates and keys must load and match
    const proxy::RouteTable routes(config); // compiled as a start or a reload compiles them
}

} // namespace lacquer::server
