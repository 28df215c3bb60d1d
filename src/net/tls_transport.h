#pragma once
// One TLS connection over a socket. OpenSSL reads and writes the socket through a TlsWire
// (tls_wire.h): the records of one write() leave in one send. Why not bufferevent_openssl:
// Connection keeps its own evbuffers, deadlines and body-by-reference writes for plain TCP, and
// a bufferevent would put a second buffer layer and its callbacks under every connection.
// A write takes records while the wire's batch has room for a whole one: small pieces (a head,
// a 1 KiB body) are gathered into one per-thread 16 KiB buffer first, so that they make one
// record; a large piece (a stored body) is encrypted from where it is, uncopied. A head and a
// 16 KiB body are then two records (the head's own and the body's) and one send.
// Thread: the owning connection's worker's only.

#include "lacquer/net/tls_context.h"
#include "lacquer/net/transport.h"
#include "tls_wire.h"

#include <chrono>
#include <memory>
#include <openssl/ssl.h>
#include <string>

namespace lacquer::net {

class TlsTransport final : public Transport {
public:
    // Takes `ssl` (already bound to its context and role). The handshake counts into `shard` at
    // the slots of `stats` when both are set (a listener's connections; not an origin's).
    TlsTransport(SSL* ssl, int fd, const TlsStats* stats, metrics::Shard* shard,
                 std::shared_ptr<const void> context);
    ~TlsTransport() override;
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    bool needs_handshake() const override { return !handshake_done_; }
    IoResult handshake(int fd) override;
    IoResult read(int fd, const iovec* vec, int n) override;
    IoResult write(int fd, const iovec* vec, int n) override;
    std::size_t pending_output() const override { return wire_.pending(); }
    // Memory that holds the pending output (TlsWire::held): 0 once it has gone out.
    std::size_t held_output() const { return wire_.held(); }
    bool has_buffered_input() const override;
    void shutdown_write(int fd) override;
    std::string_view version() const override;
    std::string_view server_name() const override;
    std::string error_text() const override { return error_; }

private:
    // Maps an SSL_* failure of `rc` to a status, and keeps the reason of an error.
    IoStatus status_of(int rc);
    // Keeps the reason (errno) of a failed send; Error.
    IoStatus send_failed();
    // Counts the handshake's end once: its result, version and time since the accept.
    void count(TlsStats::Result result);

    SSL* ssl_;
    std::shared_ptr<const void> context_; // what the SSL's callbacks read
    const TlsStats* stats_;
    metrics::Shard* shard_;
    std::chrono::steady_clock::time_point start_;
    TlsWire wire_; // the SSL's BIO points here; the destructor frees the SSL first
    std::string error_;
    bool handshake_done_ = false;
    bool counted_ = false;
    bool failed_ = false; // a TLS error: the session must not be resumed
};

} // namespace lacquer::net
