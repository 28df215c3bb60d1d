#pragma once
// TLS as the server sets it up from a config: each TLS listener's certificates (read at start,
// on reload and by --check-config; a file that cannot be used is a config error at the entry
// that names it) and the process's TLS metrics.

#include "lacquer/config/config.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/tls_context.h"

#include <memory>
#include <vector>

namespace lacquer::server {

// One entry per config.listen entry: nullptr for a plain one. Throws config::ConfigError.
std::vector<std::shared_ptr<const net::TlsServerContext>>
build_listener_tls(const config::Config& config, net::TlsStats* stats);

// lacquer_tls_handshakes_total{result,version}, lacquer_tls_resumptions_total,
// lacquer_tls_handshake_seconds_total (the sum; divide by the ok count for the mean).
void declare_tls_metrics(metrics::Registry& registry, const net::TlsStats& stats);

} // namespace lacquer::server
