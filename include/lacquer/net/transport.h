#pragma once
// The byte transport under a Connection: the socket itself (plain TCP, or a Unix socket) or
// TLS over it. The Connection keeps its buffers, events, watermarks and deadlines whatever the
// transport; the transport only moves bytes between those buffers and the socket and says
// which readiness it waits for. Plain TCP is one stateless object shared by every connection
// (no allocation, no state: readv and sendmsg, body bytes by reference); TLS is one object per
// connection (tls_context.h).
// Thread: the owning connection's worker's only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct iovec;

namespace lacquer::net {

enum class IoStatus : std::uint8_t {
    Ok,        // `bytes` moved (or the handshake is done)
    WantRead,  // nothing now: retry when the socket is readable
    WantWrite, // nothing now: retry when the socket is writable
    Eof,       // the peer closed (TLS: close_notify or a TCP FIN)
    Error
};

struct IoResult {
    std::size_t bytes = 0;
    IoStatus status = IoStatus::Ok;
};

class Transport {
public:
    virtual ~Transport() = default;
    // True when the connection must run handshake() before it moves application bytes.
    virtual bool needs_handshake() const = 0;
    // Moves the handshake on; Ok once it is complete.
    virtual IoResult handshake(int fd) = 0;
    // Reads into the iovecs (at most `n`); Ok with bytes > 0, or another status.
    virtual IoResult read(int fd, const iovec* vec, int n) = 0;
    // Writes from the iovecs; Ok with the bytes taken (maybe fewer than offered). A retry after
    // WantRead/WantWrite must offer at least the same bytes first (the output's front stays).
    // TLS may take bytes and still say WantWrite: they are encrypted, and the records the
    // socket did not take wait in the transport (pending_output()); a write with n == 0 only
    // sends those. The bytes taken are the caller's to drop whatever the status.
    virtual IoResult write(int fd, const iovec* vec, int n) = 0;
    // Bytes the transport has accepted and not yet sent (TLS records): part of the output.
    virtual std::size_t pending_output() const { return 0; }
    // Bytes received and decoded beyond what read() returned: the socket will not say so.
    virtual bool has_buffered_input() const = 0;
    // Ends the sending side (TLS: close_notify first).
    virtual void shutdown_write(int fd) = 0;
    // Access log and errors: the protocol version ("TLSv1.3"), the SNI name, and why the last
    // failure happened ("" when plain or unknown).
    virtual std::string_view version() const { return {}; }
    virtual std::string_view server_name() const { return {}; }
    virtual std::string error_text() const { return {}; }
    // The client's address as the handshake learnt it (a PROXY header), or "".
    virtual std::string_view peer_override() const { return {}; }
};

// The shared plain-socket transport.
Transport& plain_transport();

} // namespace lacquer::net
