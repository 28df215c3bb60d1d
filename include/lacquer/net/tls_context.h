#pragma once
// TLS with OpenSSL 3, both ways: a TlsServerContext per TLS listener (certificates chosen by
// SNI, TLS 1.2 and 1.3 only, ALPN http/1.1, session tickets whose keys rotate in memory and
// are shared by every listener and worker of the process, a session cache, no renegotiation)
// and a TlsClientContext per origin pool (verification on by default, SNI, a client
// certificate, one resumable session kept per server). Contexts are built on the server thread
// at start and on reload (they read the files then) and are immutable afterwards; any worker
// makes transports (transport.h) from them. No OpenSSL type appears here.
// Thread: any (build on one, use from many).

#include "lacquer/core/clock.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/transport.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::net {

// Where the TLS handshakes of the client listeners are counted: the slots of their series in the
// metrics registry, declared once at start (the label sets are closed), the same in every
// worker's shard. Each handshake counts into the shard of the worker that runs it (one writer,
// no atomics shared between workers); the scrape sums the shards.
struct TlsStats {
    enum Version : std::uint8_t { Tls12, Tls13, Other, Count };
    enum Result : std::uint8_t { Ok, Failed, Results };
    static constexpr std::size_t kVersions = Count;
    static constexpr std::size_t kResults = Results;
    static constexpr const char* kVersionNames[kVersions] = {"TLSv1.2", "TLSv1.3", "other"};
    static constexpr const char* kResultNames[kResults] = {"ok", "failed"};
    template <class T> using PerResultVersion = std::array<std::array<T, kVersions>, kResults>;
    template <class T> static constexpr PerResultVersion<T> all(T value) {
        PerResultVersion<T> out{};
        for (auto& row : out) {
            row.fill(value);
        }
        return out;
    }
    // lacquer_tls_handshakes_total{result,version}
    PerResultVersion<std::uint32_t> handshakes = all(metrics::kNoSlot);
    // lacquer_tls_resumptions_total
    std::uint32_t resumed = metrics::kNoSlot;
    // lacquer_tls_handshake_seconds{result,version}: from accept to done (or to the failure)
    PerResultVersion<metrics::HistogramSlots> seconds =
        all(metrics::HistogramSlots{metrics::kNoSlot});
};

struct TlsCertificateFiles {
    std::string certificate; // chain, PEM
    std::string private_key; // PEM
    // SNI names ("api.example.com", "*.example.com"); empty for the default certificate.
    std::vector<std::string> names;
    std::string ocsp; // a DER OCSP response for the certificate, stapled on request ("" = none)
};

struct TlsServerOptions {
    std::vector<TlsCertificateFiles> certificates; // [0] is the default one
    std::string ciphers;                           // TLS 1.2 list; "" = OpenSSL's default
    std::string ciphersuites;                      // TLS 1.3 list; "" = OpenSSL's default
};

class TlsServerContext {
public:
    // Reads the files. nullptr on failure, with `error` and the index of the certificate entry
    // at fault in `failed_entry` (SIZE_MAX when it is the ciphers); `ocsp_at_fault` (when set)
    // says whether it was the entry's OCSP response file. `stats` (or nullptr: nothing
    // counted) outlives the context.
    static std::shared_ptr<TlsServerContext> create(const TlsServerOptions& options,
                                                    const TlsStats* stats, std::string& error,
                                                    std::size_t& failed_entry,
                                                    bool* ocsp_at_fault = nullptr);
    ~TlsServerContext();
    TlsServerContext(const TlsServerContext&) = delete;
    TlsServerContext& operator=(const TlsServerContext&) = delete;

    // A server-side transport for an accepted socket; its handshake counts into `shard` (the
    // accepting worker's; nullptr: not counted).
    std::unique_ptr<Transport> accept(int fd, metrics::Shard* shard) const;

    struct Impl;

private:
    explicit TlsServerContext(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

struct TlsClientOptions {
    bool verify = true;
    std::string ca_file;     // "" = the system's trust store
    std::string certificate; // mTLS: the client chain, PEM ("" = none)
    std::string private_key;
};

class TlsClientContext {
public:
    static std::shared_ptr<TlsClientContext> create(const TlsClientOptions& options,
                                                    std::string& error);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    // A client-side transport for a connecting socket. `server_name` is sent as SNI (unless it
    // is an IP literal) and verified against the certificate; `session_key` names the server
    // whose last session is offered for resumption.
    std::unique_ptr<Transport> connect(int fd, const std::string& server_name,
                                       const std::string& session_key) const;

    struct Impl;

private:
    explicit TlsClientContext(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

} // namespace lacquer::net
