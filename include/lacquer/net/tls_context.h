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
#include "lacquer/net/transport.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::net {

// Process-wide TLS counts, read by the metrics scrape.
struct TlsStats {
    enum Version : std::uint8_t { Tls12, Tls13, Other, Count };
    static constexpr std::size_t kVersions = Count;
    std::array<std::atomic<std::uint64_t>, kVersions> handshakes_ok{};
    std::array<std::atomic<std::uint64_t>, kVersions> handshakes_failed{};
    std::atomic<std::uint64_t> resumed{0};
    std::atomic<std::uint64_t> handshake_micros{0}; // sum over the completed handshakes
    static constexpr const char* kVersionNames[kVersions] = {"TLSv1.2", "TLSv1.3", "other"};
};

struct TlsCertificateFiles {
    std::string certificate; // chain, PEM
    std::string private_key; // PEM
    // SNI names ("api.example.com", "*.example.com"); empty for the default certificate.
    std::vector<std::string> names;
};

struct TlsServerOptions {
    std::vector<TlsCertificateFiles> certificates; // [0] is the default one
    std::string ciphers;                           // TLS 1.2 list; "" = OpenSSL's default
    std::string ciphersuites;                      // TLS 1.3 list; "" = OpenSSL's default
};

class TlsServerContext {
public:
    // Reads the files. nullptr on failure, with `error` and the index of the certificate entry
    // at fault in `failed_entry` (SIZE_MAX when it is the ciphers).
    static std::shared_ptr<TlsServerContext> create(const TlsServerOptions& options,
                                                    TlsStats* stats, std::string& error,
                                                    std::size_t& failed_entry);
    ~TlsServerContext();
    TlsServerContext(const TlsServerContext&) = delete;
    TlsServerContext& operator=(const TlsServerContext&) = delete;

    // A server-side transport for an accepted socket.
    std::unique_ptr<Transport> accept(int fd) const;

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
                                                    TlsStats* stats, std::string& error);
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
