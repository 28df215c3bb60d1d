#pragma once
// ScriptedOrigin: a real HTTP/1.1 server on 127.0.0.1:<ephemeral> inside the test process, whose
// answers are scripted per request like a VTC `server` block. One accept thread plus one thread per
// connection; requests on a connection are handled in order (keep-alive and pipelining). Every
// request is recorded before its handler runs. Handlers run on connection threads, so they must
// only touch test state that is thread-safe (Gate, Barrier, atomics, or the origin's own records).
// Destruction is prompt: sockets are shut down, gates and sleeps on origin threads are cancelled,
// threads are joined.

#include "support/deadline.h"
#include "support/gate.h"
#include "support/header_fields.h"
#include "support/socket_io.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace lacquer::test {

struct ReceivedRequest : HeaderLookup<ReceivedRequest> {
    std::string method;
    std::string target;   // as sent: path plus query
    std::string path;     // target without the query
    HeaderFields headers; // in arrival order, names as sent
    std::string body;     // decoded (chunked framing removed)
    bool chunked = false; // the body came with Transfer-Encoding: chunked
    int http_minor = 1;
    std::uint64_t connection = 0; // 1-based accept order: shows which requests shared a connection
};

// The handler's view of one request and of the connection it came on. Valid only during the call.
class OriginExchange {
public:
    const ReceivedRequest& request() const { return request_; }

    // A whole response. Adds Content-Length unless `headers` has one or Transfer-Encoding or the
    // status has no body (1xx, 204, 304); the body is left out for HEAD (the length still
    // describes it).
    void respond(int status, const HeaderFields& headers = {}, std::string_view body = {});
    // Shorthand: respond(status, {{"Content-Type", "text/plain"}}, body).
    void send(int status, std::string_view body);

    // Streaming. send_head() frames the body with chunked encoding unless `headers` carry
    // Content-Length or Transfer-Encoding, or Connection: close (then the body ends at close).
    // After a HEAD request or a 1xx/204/304 head, body calls send nothing.
    void send_head(int status, const HeaderFields& headers = {});
    void send_body_chunk(std::string_view data); // a chunk, or raw bytes for the other framings
    void finish_body();                          // the last chunk; implied when the handler returns
    void send_body(std::string_view data);       // send_body_chunk() then finish_body()

    // Exactly these bytes, nothing added; the handler owns the framing.
    void send_raw(std::string_view bytes);

    void close(); // FIN now, whatever was sent; the connection is done
    void reset(); // RST now (SO_LINGER 0)

    // Latency simulation: sleeps up to `duration` (capped at 30 s); false if the origin is
    // stopping.
    bool sleep_for(Millis duration);
    // A stall: keeps the connection open and silent until the peer closes it (FIN or RST: true)
    // or `timeout` passes (capped at 30 s) or the origin stops (false). Lets a handler outlast a
    // proxy's timeout exactly as long as the proxy waits, and shows that it gave up.
    bool wait_for_close(Millis timeout);

    bool is_connected() const { return fd_.valid() && !failed_; }
    bool has_responded() const { return responded_; }

private:
    friend class ScriptedOrigin;
    enum class Framing { None, Length, Chunked, UntilClose };

    OriginExchange(UniqueFd& fd, int stop_fd, const ReceivedRequest& request)
        : fd_(fd), stop_fd_(stop_fd), request_(request) {}
    void write(std::string_view bytes);
    bool wants_close() const { return close_after_; }

    UniqueFd& fd_;
    int stop_fd_;
    const ReceivedRequest& request_;
    Framing framing_ = Framing::None;
    bool responded_ = false;
    bool body_finished_ = false;
    bool close_after_ = false;
    bool failed_ = false;
};

using OriginHandler = std::function<void(OriginExchange&)>;

class ScriptedOrigin {
public:
    // Binds 127.0.0.1:0 (or `port`: a server brought back where a stopped one listened) and
    // starts accepting. A bind failure is reported as a test failure.
    ScriptedOrigin() : ScriptedOrigin(0) {}
    explicit ScriptedOrigin(std::uint16_t port);
    ~ScriptedOrigin();
    ScriptedOrigin(const ScriptedOrigin&) = delete;
    ScriptedOrigin& operator=(const ScriptedOrigin&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const; // "127.0.0.1:PORT", ready for a config file

    // Handler lookup, first match wins: (method, exact target), (method, path without query), the
    // on_any() handler, else a 404 naming the request. Registering again replaces; callable at any
    // time, from any thread (requests already in their handler keep the old one).
    void on(std::string_view method, std::string_view target, OriginHandler handler);
    void on_get(std::string_view target, OriginHandler handler) {
        on("GET", target, std::move(handler));
    }
    void on_any(OriginHandler handler);
    void clear_handlers();

    // Records (thread-safe snapshots).
    std::size_t count(std::string_view target) const; // requests whose target equals `target`
    std::size_t total_requests() const;
    std::size_t connections_accepted() const;
    std::size_t open_connections() const;
    std::vector<ReceivedRequest> requests() const;
    std::optional<ReceivedRequest> last_request() const;
    void clear_records(); // forgets requests and counts (not connections_accepted)

    // Bounded waits on the records; false on timeout.
    [[nodiscard]] bool wait_for_requests(std::size_t total, Millis timeout) const;
    [[nodiscard]] bool wait_for_count(std::string_view target, std::size_t n, Millis timeout) const;
    [[nodiscard]] bool wait_for_connections(std::size_t accepted, Millis timeout) const;

    // Closes the listener and every connection, cancels handlers' waits, joins threads. Idempotent.
    void stop();

private:
    struct Connection {
        std::thread thread;
        UniqueFd fd;
        bool done = false; // guarded by mutex_
    };

    void accept_loop();
    void serve(Connection& conn, std::uint64_t id);
    OriginHandler find_handler(const ReceivedRequest& request) const;
    void run_handler(Connection& conn, const ReceivedRequest& request);
    void reap_finished_locked(std::vector<std::thread>& to_join);

    UniqueFd listener_;
    UniqueFd stop_read_; // readable once stop() ran: every poll in the origin watches it
    UniqueFd stop_write_;
    std::uint16_t port_ = 0;
    std::shared_ptr<detail::StopFlag> stop_flag_ = std::make_shared<detail::StopFlag>();

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopping_ = false;
    std::map<std::pair<std::string, std::string>, OriginHandler, std::less<>> handlers_;
    OriginHandler default_handler_;
    std::vector<ReceivedRequest> requests_;
    std::map<std::string, std::size_t, std::less<>> counts_;
    std::size_t accepted_ = 0;
    std::size_t open_ = 0;
    std::list<Connection> connections_;
    std::thread acceptor_;
};

} // namespace lacquer::test
