#pragma once
// One TCP connection on one worker: a socket, two libevent events and two evbuffers. Body
// bytes move between connections by reference (move_input_to) and borrowed bytes go out
// without a copy (write_borrowed); libevent types stay inside net/. Reads go straight into the
// input buffer's free space (no FIONREAD probe per read). Writes are queued and flushed once
// the current callback has returned, in one sendmsg for everything queued meanwhile; the
// socket is watched for writability only when it cannot take all of it. Input is capped by a
// high watermark, so a handler that stops draining input stops the socket reads too
// (backpressure).
// Thread: the owning worker's only.

#include "lacquer/core/clock.h"
#include "lacquer/net/address.h"

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

struct event;
struct evbuffer;

namespace lacquer::net {

class Worker;
class Connection;

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

    // Wraps an accepted socket.
    static std::unique_ptr<Connection> adopt(Worker& worker, int fd, const sockaddr* peer,
                                             ConnectionHandler* handler);
    // Starts a non-blocking connect; ConnEvent::Connected or Error follows. nullptr when the
    // connect fails at once (`error` holds errno).
    static std::unique_ptr<Connection> connect(Worker& worker, const SocketAddress& to,
                                               ConnectionHandler* handler, int& error);
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
    // output is queued (order comes first) or the socket takes nothing now.
    std::size_t write_now(std::span<const std::string_view> parts);
    // Queues bytes owned by someone else; `release` runs when libevent is done with them.
    // Returns false (and has already called release) when libevent refused.
    bool write_borrowed(const void* data, std::size_t length, BorrowRelease release, void* token);
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
    bool is_connected() const { return connected_; }

private:
    Connection(Worker& worker, int fd, ConnectionHandler* handler);
    static void on_read_event(int fd, short what, void* arg);
    static void on_write_event(int fd, short what, void* arg);
    static void on_flush_event(int fd, short what, void* arg);
    void read_once();
    void finish_connect();
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
    bool reading_ = true;          // the handler's wish (set_reading)
    bool read_suspended_ = false;  // input at the high watermark
    bool read_closed_ = false;     // EOF or error seen on the read side
    bool write_closed_ = false;    // a write failed
    bool read_watched_ = false;    // read_event_ added
    bool write_watched_ = false;   // write_event_ added (waiting for writability)
    bool flush_scheduled_ = false; // flush_event_ active
    char peer_host_[46] = {};
    std::size_t peer_host_length_ = 0;
};

} // namespace lacquer::net
