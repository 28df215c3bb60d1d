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
build_listener_tls(const config::Config& config, const net::TlsStats* stats);

// Declares lacquer_tls_handshakes_total{result,version}, lacquer_tls_resumptions_total and the
// histogram lacquer_tls_handshake_seconds{result,version}, and puts their slots in `stats`
// (counted in the workers' shards). Once, at start: the label sets never change.
void declare_tls_metrics(metrics::Registry& registry, net::TlsStats& stats);

} // namespace lacquer::server
