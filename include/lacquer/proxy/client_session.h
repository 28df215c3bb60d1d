#pragma once
// One client connection: the connection state machine under the requests it carries, one at a
// time and answered in order (pipelined requests wait in the input buffer).
//   ReadingHead -> Dispatched (a RequestFsm runs; it may ask for the body: ReadingBody)
//     -> ReadingHead (keep-alive) | Closing -> Lingering -> Closed
// It owns the socket, the head parser, the request body's framing and every client-side
// deadline (head, body, idle, linger); the request reaches it only as ClientSide.
// Thread: its worker's only. Ends itself through Worker::dispose().

#include "lacquer/http/head_parser.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/client_side.h"
#include "lacquer/proxy/request_body.h"
#include "lacquer/proxy/request_fsm.h"
#include "lacquer/proxy/worker_context.h"

#include <memory>

namespace lacquer::proxy {

class ClientSession final : public net::Disposable,
                            private net::ConnectionHandler,
                            private ClientSide {
public:
    // Takes a socket accepted by config.listen[`listener`]. The session lives until the
    // connection ends.
    static void start(WorkerContext& context, int fd, const sockaddr* peer,
                      std::size_t listener = 0);
    ~ClientSession() override;
    ClientSession* next_session() const { return next_; }
    // Graceful shutdown: close now if idle, else after the request in flight. `serve_new`: a
    // connection that has not sent its first request yet is not idle but about to (a worker a
    // reload removes accepted it from a socket that keeps listening): it gets one answer.
    void drain(bool serve_new = false);
    // Shutdown past limits.drain_timeout, once the worker's thread has ended: the request in
    // flight, if any, is logged as cut (one line on stderr; status 503 in the access log and
    // the metrics) before the session is deleted (session_shutdown.cc).
    void cut_at_shutdown();

private:
    enum class State : std::uint8_t {
        ReadingHead,
        ReadingBody, // the request in flight asked for its body
        Dispatched,  // a request runs and answers
        Closing,
        Lingering,
        Closed
    };

    explicit ClientSession(WorkerContext& context);
    void link();
    void unlink();

    // net::ConnectionHandler
    void on_readable(net::Connection& conn) override;
    void on_drained(net::Connection& conn) override;
    void on_event(net::Connection& conn, net::ConnEvent event) override;
    static void on_timer(void* arg);

    // ClientSide
    const http::RequestHead& head() const override { return parser_.request(); }
    std::string_view peer_host() const override { return conn_->peer_host(); }
    std::string_view tls_version() const override { return conn_->tls_version(); }
    std::string_view tls_server_name() const override { return conn_->tls_server_name(); }
    std::uint64_t request_bytes() const override {
        const bool body = parser_.request().framing.kind != http::Framing::Kind::None;
        return parser_.head_bytes() + (body ? body_.size() : 0);
    }
    void read_body() override;
    RequestBody& body() override { return body_; }
    void write(std::string_view bytes) override { conn_->write(bytes); }
    void write_borrowed(const void* data, std::size_t length, net::BorrowRelease release,
                        void* token) override {
        conn_->write_borrowed(data, length, release, token);
    }
    std::size_t write_now(std::span<const std::string_view> parts) override {
        return conn_->write_now(parts);
    }
    void move_from(net::Connection& upstream, std::size_t n) override {
        upstream.move_input_to(*conn_, n);
    }
    std::size_t queued() const override { return conn_->output_size(); }
    void request_ended(bool keep_alive, bool cut, bool reset) override;

    void process_input();
    void take_body(); // the body bytes that have arrived
    void next_request();
    // The connection has been idle kBuffersKeptIdle: what only a request needs is given back
    // (~2.5 KiB stay).
    void release_request_buffers();

    // An answer of the connection's own (a bad head, a deadline), then close.
    void answer_and_close(int status);
    void close_after_flush();
    void close_now();

    WorkerContext& ctx_;
    std::unique_ptr<net::Connection> conn_;
    http::HeadParser parser_;
    net::Timer timer_;
    RequestBody body_;           // the request's body, read whole before the origin is asked
    RequestFsm request_;         // the request in flight, reused for each request
    std::string scratch_answer_; // the connection's own answers (errors, deadlines)
    State state_ = State::ReadingHead;
    core::Instant head_start_{};    // the first byte of the request in flight
    core::Instant body_deadline_{}; // head_start_ + client_request_timeout
    bool body_read_ = true;         // the request's body is consumed (or it had none)
    bool reset_at_close_ = false;   // end with a reset: a close-delimited answer was cut
    bool last_request_ = false;     // shutting down: close after the request in flight
    bool answered_once_ = false;    // a request was answered on this connection
    bool in_process_ = false;
    bool counted_ = false;
    bool buffers_kept_ = false; // between requests: released when the timer first fires
    ClientSession* prev_ = nullptr;
    ClientSession* next_ = nullptr;
    bool linked_ = false;
};

} // namespace lacquer::proxy
