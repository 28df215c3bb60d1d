#include "tls_setup.h"

#include "lacquer/config/load.h"

namespace lacquer::server {

std::vector<std::shared_ptr<const net::TlsServerContext>>
build_listener_tls(const config::Config& config, net::TlsStats* stats) {
    std::vector<std::shared_ptr<const net::TlsServerContext>> out;
    for (const config::ListenerConfig& l : config.listen) {
        if (!l.tls) {
            out.emplace_back();
            continue;
        }
        net::TlsServerOptions options;
        for (const config::TlsCertificateConfig& c : l.tls->certificates) {
            options.certificates.push_back({c.certificate, c.private_key, c.names});
        }
        options.ciphers = l.tls->ciphers;
        options.ciphersuites = l.tls->ciphersuites;
        std::string error;
        std::size_t failed = 0;
        std::shared_ptr<net::TlsServerContext> ctx =
            net::TlsServerContext::create(options, stats, error, failed);
        if (!ctx) {
            const config::SourceMark& mark = failed < l.tls->certificates.size()
                                                 ? l.tls->certificates[failed].mark
                                                 : l.tls->mark;
            throw config::ConfigError(mark, "tls: " + error);
        }
        out.push_back(std::move(ctx));
    }
    return out;
}

void declare_tls_metrics(metrics::Registry& registry, const net::TlsStats& stats) {
    const net::TlsStats* s = &stats;
    for (std::size_t v = 0; v < net::TlsStats::kVersions; ++v) {
        const char* version = net::TlsStats::kVersionNames[v];
        registry.counter_fn("lacquer_tls_handshakes_total",
                            "TLS handshakes on the client listeners, by result and version.",
                            {{"result", "ok"}, {"version", version}},
                            [s, v] { return static_cast<double>(s->handshakes_ok[v].load()); });
        registry.counter_fn("lacquer_tls_handshakes_total",
                            "TLS handshakes on the client listeners, by result and version.",
                            {{"result", "failed"}, {"version", version}},
                            [s, v] { return static_cast<double>(s->handshakes_failed[v].load()); });
    }
    registry.counter_fn("lacquer_tls_resumptions_total",
                        "TLS handshakes that resumed a session (ticket or cache).", {},
                        [s] { return static_cast<double>(s->resumed.load()); });
    registry.counter_fn("lacquer_tls_handshake_seconds_total",
                        "Time spent in completed TLS handshakes, from accept to done.", {},
                        [s] { return static_cast<double>(s->handshake_micros.load()) / 1e6; });
}

} // namespace lacquer::server
