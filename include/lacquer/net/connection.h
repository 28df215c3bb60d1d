#pragma once
// One connection on one worker: a socket, its byte transport (transport.h: plain, or TLS),
// two libevent events and two evbuffers. Body
// bytes move between connections by reference (move_input_to) and borrowed bytes go out
// without a copy (write_borrowed); libevent types stay inside net/. Reads go straight into the
// input buffer's free space (no FIONREAD probe per read). Writes are queued and flushed once
// the current callback has returned, in one sendmsg for everything queued meanwhile; the
// socket is watched for writability only when it cannot take all of it. Input is capped by a
// high watermark, so a handler that stops draining input stops the socket reads too
// (backpressure). With TLS the handshake runs first, inside the connection: the handler sees
// ConnEvent::Connected once it is done (accepted and connected sockets alike) and bytes
// written before that wait for it. Plain TCP takes no extra step and no allocation.
// Thread: the owning worker's only.

#include "lacquer/core/clock.h"
#include "lacquer/net/address.h"
#include "lacquer/net/transport.h"

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct event;
struct evbuffer;

namespace lacquer::net {

class Worker;
class Connection;
class TlsClientContext;

// TLS to an upstream: the context, the name sent as SNI and verified, and the key under which
// the server's last session is kept for resumption.
struct TlsTarget {
    const TlsClientContext* context = nullptr;
    std::string server_name;
    std::string session_key;
};

enum class ConnEvent : std::uint8_t { Connected, Eof, Error, Timeout };

// Callbacks only record and resume: the handler decides in its own state machine.
class ConnectionHandler {
public:
    virtual void on_readable(Connection& conn) = 0;
    virtual void on_drained(Connection& conn) = 0; // output fell to the drain mark
    virtual void on_event(Connection& conn, ConnEvent event) = 0;

protected:
    ~ConnectionHandler() = default;
};

// Released by libevent when it is done with borrowed bytes (possibly after the client is gone).
using BorrowRelease = void (*)(const void* data, std::size_t length, void* token);

class Connection {
public:
    static constexpr std::size_t kInputHighWatermark = 256 * 1024;

    // Wraps an accepted socket; `transport` (TLS) or nullptr for the plain socket. With TLS,
    // ConnEvent::Connected follows the handshake.
    static std::unique_ptr<Connection> adopt(Worker& worker, int fd, const sockaddr* peer,
                                             ConnectionHandler* handler,
                                             std::unique_ptr<Transport> transport = nullptr);
    // Starts a non-blocking connect (then the TLS handshake with `tls`); ConnEvent::Connected
    // or Error follows. nullptr when the connect fails at once (`error` holds errno).
    static std::unique_ptr<Connection> connect(Worker& worker, const SocketAddress& to,
                                               ConnectionHandler* handler, int& error,
                                               const TlsTarget* tls = nullptr);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void set_handler(ConnectionHandler* handler) { handler_ = handler; }
    Worker& worker() const { return worker_; }

    std::size_t input_size() const;
    // The first contiguous run of input bytes (may be shorter than input_size()).
    std::string_view peek() const;
    void drain(std::size_t n);
    // Moves up to n input bytes to dst's output without copying payload; returns the count.
    std::size_t move_input_to(Connection& dst, std::size_t n);
    // Copies up to n input bytes, after the first `skip`, to dst without consuming them;
    // returns the count.
    std::size_t copy_input(char* dst, std::size_t n, std::size_t skip = 0) const;

    void write(std::string_view bytes);
    // When nothing is queued, sends `parts` (at most 8) straight to the socket with one
    // sendmsg and returns how many bytes it took; the caller queues the rest. Returns 0 when
    // output is queued (order comes first) or the socket takes nothing now. TLS: the bytes
    // taken are encrypted and sent in one batch (at most three records); records the socket
    // did not take stay in the transport and count in output_size().
    std::size_t write_now(std::span<const std::string_view> parts);
    // Queues bytes owned by someone else; `release` runs when libevent is done with them.
    // Returns false (and has already called release) when libevent refused.
    bool write_borrowed(const void* data, std::size_t length, BorrowRelease release, void* token);
    // Bytes queued and not yet sent, TLS records the transport keeps included.
    std::size_t output_size() const;

    void set_reading(bool on);
    // on_drained fires when the output falls to at most `low` bytes after a write.
    void set_drain_mark(std::size_t low);
    // Inactivity timeouts for reading and writing; zero disables.
    void set_timeouts(core::Millis read, core::Millis write);
    // Sends FIN. Call once the output has drained: used before closing a client that may still
    // be sending, so that it reads our answer instead of a reset.
    void shutdown_write();
    // Makes the close of this socket a reset (SO_LINGER 0) instead of a FIN: for an answer
    // whose end only the close marks (close-delimited), so that a cut one cannot pass for
    // complete. Bytes still queued in the kernel may be lost: the answer is broken anyway.
    void reset_on_close();

    std::string_view peer_host() const { return {peer_host_, peer_host_length_}; }
    // The client's address as a trusted PROXY protocol header gave it (at most 45 bytes).
    void set_peer_host(std::string_view host);
    bool is_connected() const { return connected_ && !handshaking_; }
    // TLS: the negotiated version ("TLSv1.3") and the SNI name; "" when plain or not known.
    std::string_view tls_version() const { return transport_->version(); }
    std::string_view tls_server_name() const { return transport_->server_name(); }
    bool is_tls() const { return owned_transport_ != nullptr; }
    // Why the transport failed last ("certificate verify failed: ..."); "" when plain.
    std::string transport_error() const { return transport_->error_text(); }

private:
    Connection(Worker& worker, int fd, ConnectionHandler* handler);
    static void on_read_event(int fd, short what, void* arg);
    static void on_write_event(int fd, short what, void* arg);
    static void on_flush_event(int fd, short what, void* arg);
    void read_once();
    // Moves the TLS handshake on; Connected to the handler once done.
    void continue_handshake();
    void finish_connect();
    // Connected to the handler, then what was queued meanwhile goes out; false when that ended
    // the connection (touch nothing then).
    bool announce_connected();
    void flush();
    // Adds or removes the read event to match reading_, the watermark and the state.
    void update_reading();
    void watch_writable(bool on);
    void schedule_flush();
    void resume_after_drain();
    // Stops the given direction and tells the handler; touch nothing after.
    void fail(ConnEvent event, bool reading_side);

    Worker& worker_;
    int fd_;
    ConnectionHandler* handler_;
    Transport* transport_;                       // plain_transport() or owned_transport_
    std::unique_ptr<Transport> owned_transport_; // TLS
    event* read_event_ = nullptr;
    event* write_event_ = nullptr;
    event* flush_event_ = nullptr; // made active to flush after the current callback
    evbuffer* input_ = nullptr;
    evbuffer* output_ = nullptr;
    core::Millis read_timeout_{0};
    core::Millis write_timeout_{0};
    std::size_t drain_low_ = 0;
    bool* destroyed_ = nullptr; // set while a callback may outlive this connection
    bool connected_ = false;
    bool connecting_ = false;
    bool reading_ = true;           // the handler's wish (set_reading)
    bool read_suspended_ = false;   // input at the high watermark
    bool read_closed_ = false;      // EOF or error seen on the read side
    bool write_closed_ = false;     // a write failed
    bool read_watched_ = false;     // read_event_ added
    bool write_watched_ = false;    // write_event_ added (waiting for writability)
    bool flush_scheduled_ = false;  // flush_event_ active
    bool handshaking_ = false;      // TLS: no application bytes yet
    bool read_wants_write_ = false; // TLS: a read waits for writability
    bool write_wants_read_ = false; // TLS: a write waits for readability
    char peer_host_[46] = {};
    std::size_t peer_host_length_ = 0;
};

} // namespace lacquer::net
