#include "tls_setup.h"

#include "lacquer/config/load.h"

namespace lacquer::server {

std::vector<std::shared_ptr<const net::TlsServerContext>>
build_listener_tls(const config::Config& config, const net::TlsStats* stats) {
    std::vector<std::shared_ptr<const net::TlsServerContext>> out;
    for (const config::ListenerConfig& l : config.listen) {
        if (!l.tls) {
            out.emplace_back();
            continue;
        }
        net::TlsServerOptions options;
        for (const config::TlsCertificateConfig& c : l.tls->certificates) {
            options.certificates.push_back({c.certificate, c.private_key, c.names, c.ocsp});
        }
        options.ciphers = l.tls->ciphers;
        options.ciphersuites = l.tls->ciphersuites;
        std::string error;
        std::size_t failed = 0;
        bool ocsp = false;
        std::shared_ptr<net::TlsServerContext> ctx =
            net::TlsServerContext::create(options, stats, error, failed, &ocsp);
        if (!ctx) {
            const config::SourceMark& mark = failed >= l.tls->certificates.size() ? l.tls->mark
                                             : ocsp ? l.tls->certificates[failed].ocsp_mark
                                                    : l.tls->certificates[failed].mark;
            throw config::ConfigError(mark, "tls: " + error);
        }
        out.push_back(std::move(ctx));
    }
    return out;
}

void declare_tls_metrics(metrics::Registry& registry, net::TlsStats& stats) {
    for (std::size_t r = 0; r < net::TlsStats::kResults; ++r) {
        for (std::size_t v = 0; v < net::TlsStats::kVersions; ++v) {
            const metrics::Labels labels{{"result", net::TlsStats::kResultNames[r]},
                                         {"version", net::TlsStats::kVersionNames[v]}};
            stats.handshakes[r][v] = registry.counter(
                "lacquer_tls_handshakes_total",
                "TLS handshakes on the client listeners, by result and version.", labels);
            stats.seconds[r][v] = registry.histogram(
                "lacquer_tls_handshake_seconds",
                "TLS handshakes on the client listeners: time from the accept to the handshake's "
                "end (done, failed, or closed at client_header_timeout), by result and version.",
                labels);
        }
    }
    stats.resumed = registry.counter("lacquer_tls_resumptions_total",
                                     "TLS handshakes that resumed a session (ticket or cache).");
}

} // namespace lacquer::server
