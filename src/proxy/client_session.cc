// The connection state machine: heads in, request bodies read whole, answers out, deadlines,
// keep-alive, pipelining and the endings (lingering close, reset). What a request does is the
// RequestFsm's (request_fsm.cc).
#include "lacquer/proxy/client_session.h"

#include "lacquer/http/serialize.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/client_transport.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "object_delivery.h"

#include <algorithm>
#include <unistd.h>

namespace lacquer::proxy {

namespace {
// Response bytes queued for the client at which the origin side resumes (the request pauses
// it above its high mark).
constexpr std::size_t kClientDrainMark = 128 * 1024;
// After an error answer, how long unread client bytes are read and dropped before closing, so
// that the client reads the answer instead of a reset (nginx's lingering close).
constexpr core::Millis kLingerTime{2000};
// How long a keep-alive connection keeps its request buffers after an answer, while its worker
// has at most kKeepingConnections: a busy one has its next request in far less, and giving the
// buffers back and taking them again for every request cost about 6% of a hit's user time. An
// idle one holds ~2.5 KiB from then on. With more connections each gives them back at once, so
// that thousands of mostly idle keep-alive connections never hold request buffers together
// (perf/connmem.sh); the kept ones are bounded by kKeepingConnections x ~10 KiB per worker.
constexpr core::Millis kBuffersKeptIdle{100};
constexpr std::size_t kKeepingConnections = 256;
} // namespace

ClientSession::ClientSession(WorkerContext& context)
    : ctx_(context), parser_(http::HeadKind::Request, context.head_limits()),
      timer_(context.worker, &ClientSession::on_timer, this), request_(context, *this) {}

void ClientSession::start(WorkerContext& context, int fd, const sockaddr* peer,
                          std::size_t listener) {
    const std::uint32_t open = context.open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
    ClientTransport transport;
    const bool over = open > context.config().limits.max_connections;
    if (!over) {
        transport = client_transport(context, listener, fd, peer);
    }
    if (over || transport.failed) {
        context.open_connections.fetch_sub(1, std::memory_order_relaxed);
        count(context, &ProxyMetrics::connections_refused);
        // Shed load with a clear answer (the plain socket only: TLS or a PROXY header would
        // come first); the socket is fresh, so this small write cannot block.
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 24\r\nConnection: close\r\n"
            "Retry-After: 1\r\n\r\n503 Service Unavailable\n";
        const std::vector<config::ListenerConfig>& listen = context.config().listen;
        const bool plain = listener >= listen.size() ||
                           (!listen[listener].tls && !listen[listener].proxy_protocol);
        if (plain) {
            [[maybe_unused]] const ssize_t n =
                ::send(fd, kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        ::close(fd);
        return;
    }
    count(context, &ProxyMetrics::connections_accepted);
    std::unique_ptr<ClientSession> session(new ClientSession(context));
    session->counted_ = true;
    const bool handshake = transport.transport != nullptr;
    session->conn_ = net::Connection::adopt(context.worker, fd, peer, session.get(),
                                            std::move(transport.transport));
    if (!session->conn_) {
        return;
    }
    ++context.live_sessions;
    if (context.balance_load != nullptr) {
        context.balance_load->fetch_add(1, std::memory_order_relaxed);
    }
    session->link();
    session->conn_->set_drain_mark(kClientDrainMark);
    // A client that does not read what we send is dropped after the idle timeout.
    const config::Limits& limits = context.config().limits;
    session->conn_->set_timeouts(core::Millis(0), limits.client_idle_timeout);
    // A TLS handshake (or a PROXY header) is part of the first request's head: bounded alike.
    session->timer_.arm(handshake
                            ? std::min(limits.client_header_timeout, limits.client_idle_timeout)
                            : limits.client_idle_timeout);
    static_cast<void>(session.release()); // owned by its connection's callbacks; ends via dispose()
}

void ClientSession::link() {
    next_ = ctx_.sessions;
    if (next_ != nullptr) {
        next_->prev_ = this;
    }
    ctx_.sessions = this;
    linked_ = true;
}

void ClientSession::unlink() {
    if (!linked_) {
        return;
    }
    if (prev_ != nullptr) {
        prev_->next_ = next_;
    } else {
        ctx_.sessions = next_;
    }
    if (next_ != nullptr) {
        next_->prev_ = prev_;
    }
    prev_ = next_ = nullptr;
    linked_ = false;
}

ClientSession::~ClientSession() {
    unlink();
    if (counted_) {
        ctx_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
    if (conn_) {
        --ctx_.live_sessions;
        if (ctx_.balance_load != nullptr) {
            ctx_.balance_load->fetch_sub(1, std::memory_order_relaxed);
        }
    }
}

// ---- reading -------------------------------------------------------------------------------

void ClientSession::on_readable(net::Connection&) {
    switch (state_) {
    case State::ReadingHead:
        process_input();
        return;
    case State::ReadingBody:
        // Guarded like process_input(): a request answered at once (the pool is busy) ends
        // inside take_body(), and the next one must not start in there.
        in_process_ = true;
        take_body();
        in_process_ = false;
        if (state_ == State::ReadingHead) {
            process_input();
        }
        return;
    case State::Dispatched:
        return; // pipelined bytes wait in the buffer (bounded by the watermark)
    case State::Lingering:
        conn_->drain(conn_->input_size());
        return;
    case State::Closing:
    case State::Closed:
        return;
    }
}

void ClientSession::process_input() {
    if (in_process_) {
        return; // re-entered through a synchronous answer: the outer loop goes on
    }
    in_process_ = true;
    while (state_ == State::ReadingHead) {
        const std::string_view bytes = conn_->peek();
        if (bytes.empty()) {
            break;
        }
        if (!parser_.started()) {
            // The head's clock, and the whole request's, start now.
            const config::Limits& limits = ctx_.config().limits;
            head_start_ = ctx_.worker.now();
            buffers_kept_ = false; // in use again
            timer_.arm(std::min(limits.client_header_timeout, limits.client_request_timeout));
        }
        const auto fed = parser_.feed(bytes.data(), bytes.size());
        conn_->drain(fed.consumed);
        count(ctx_, &ProxyMetrics::received_bytes, fed.consumed);
        if (fed.status == http::HeadParser::Status::Error) {
            answer_and_close(http::head_error_status(parser_.error()));
            break;
        }
        if (fed.status == http::HeadParser::Status::Complete) {
            timer_.cancel();
            body_read_ = parser_.request().framing.kind == http::Framing::Kind::None;
            state_ = State::Dispatched;
            request_.start(); // may end at once, and this loop then reads the next head
        }
    }
    in_process_ = false;
}

void ClientSession::read_body() {
    const http::RequestHead& req = parser_.request();
    const config::Limits& limits = ctx_.config().limits; // the request's: no reload in between
    body_.begin(req.framing,
                {limits.max_body_bytes, static_cast<std::size_t>(limits.client_body_buffer),
                 limits.client_body_temp_dir});
    state_ = State::ReadingBody;
    body_deadline_ = head_start_ + limits.client_request_timeout;
    if (req.expect_continue && conn_->input_size() == 0) {
        conn_->write(http::kContinue); // the client waits for this before it sends the body
    }
    take_body();
}

void ClientSession::take_body() {
    const RequestBody::Read got = body_.read(*conn_);
    count(ctx_, &ProxyMetrics::received_bytes, got.consumed);
    const config::Limits& limits = ctx_.config().limits;
    switch (got.status) {
    case RequestBody::Status::NeedMore: {
        // Each read restarts the gap, never past the whole request's deadline.
        const auto left = std::chrono::ceil<core::Millis>(body_deadline_ - ctx_.worker.now());
        timer_.arm(std::max(core::Millis(0), std::min(limits.client_body_timeout, left)));
        return;
    }
    case RequestBody::Status::TooLarge:
        answer_and_close(413);
        return;
    case RequestBody::Status::BadFraming:
        answer_and_close(400);
        return;
    case RequestBody::Status::StorageFailed:
        report_body_file_failure(ctx_, limits.client_body_temp_dir, body_.file_error());
        answer_and_close(500);
        return;
    case RequestBody::Status::Complete:
        timer_.cancel();
        body_read_ = true;
        state_ = State::Dispatched;
        request_.body_complete();
        return;
    }
}

// ---- writing and endings ---------------------------------------------------------------------

void ClientSession::on_drained(net::Connection&) {
    switch (state_) {
    case State::Dispatched:
        request_.client_drained();
        return;
    case State::Closing:
        if (conn_->output_size() == 0) {
            close_after_flush();
        }
        return;
    case State::ReadingHead:
    case State::ReadingBody:
    case State::Lingering:
    case State::Closed:
        return;
    }
}

void ClientSession::on_event(net::Connection&, net::ConnEvent event) {
    if (event == net::ConnEvent::Connected) { // the handshake is done: idle until a head starts
        if (state_ == State::ReadingHead && !parser_.started()) {
            timer_.arm(ctx_.config().limits.client_idle_timeout);
        }
        return;
    }
    if (event == net::ConnEvent::Eof && state_ == State::Dispatched && request_.active() &&
        !request_.response_started()) {
        // A client may half-close after its request; the answer is still wanted.
        last_request_ = true;
        request_.last_on_connection();
        conn_->set_reading(false);
        return;
    }
    (void)event; // EOF, error or write timeout: the client is gone
    close_now();
}

void ClientSession::on_timer(void* arg) {
    auto* self = static_cast<ClientSession*>(arg);
    switch (self->state_) {
    case State::ReadingHead:
        if (self->parser_.started() || self->conn_->input_size() > 0) {
            self->answer_and_close(408); // the head did not arrive in time
        } else if (self->buffers_kept_) {
            // Idle a while: the request buffers go back, the idle timeout runs on.
            self->release_request_buffers();
            const core::Millis idle = self->ctx_.config().limits.client_idle_timeout;
            if (idle > kBuffersKeptIdle) {
                self->timer_.arm(idle - kBuffersKeptIdle);
            } else {
                self->close_now();
            }
        } else {
            self->close_now(); // idle keep-alive connection
        }
        return;
    case State::ReadingBody:
        // Too long since the last read, or the whole request took too long.
        self->answer_and_close(408);
        return;
    case State::Lingering:
    case State::Closing:
        self->close_now();
        return;
    case State::Dispatched:
    case State::Closed:
        return;
    }
}

void ClientSession::request_ended(bool keep_alive, bool cut, bool reset) {
    if (keep_alive && !cut && body_read_ && !last_request_) {
        next_request();
        return;
    }
    // Nothing more is written; the queued bytes drain, then FIN, which a client reads as a cut
    // answer when the framing says how long it is. When only the close ends the body (HTTP/1.0),
    // a FIN would pass for the end of it: a reset says it broke (RFC 9112 §6.3).
    reset_at_close_ = reset;
    state_ = State::Closing;
    timer_.arm(ctx_.config().limits.client_idle_timeout);
    if (conn_->output_size() == 0) {
        close_after_flush();
    }
}

void ClientSession::next_request() {
    answered_once_ = true;
    if (body_.holds_resources()) {
        body_.clear(); // a big buffer goes back to the thread's spares, a file is closed
    }
    state_ = State::ReadingHead;
    const core::Millis idle = ctx_.config().limits.client_idle_timeout;
    if (ctx_.live_sessions <= kKeepingConnections) {
        parser_.restart(); // its memory stays until the connection has been idle a while
        buffers_kept_ = true;
        timer_.arm(std::min(idle, kBuffersKeptIdle));
    } else {
        release_request_buffers(); // idle until the next head
        timer_.arm(idle);
    }
    conn_->set_reading(true);
    if (conn_->input_size() > 0) {
        process_input(); // pipelined requests already here (no-op when called from inside it)
    }
}

void ClientSession::release_request_buffers() {
    buffers_kept_ = false;
    // The parser's and the request's buffers go back to the thread's spares (bounded, emptied
    // when the worker goes quiet: net/memory_trim.h) and the next request takes them again. An
    // idle keep-alive connection then holds ~3.5 KiB: this object, its socket's events and
    // buffers (perf/connmem.sh).
    parser_.reset();
    request_.release_buffers();
}

void ClientSession::answer_and_close(int status) {
    const Termination term = status == 408   ? Termination::ClientTimeout
                             : status == 500 ? Termination::Internal
                                             : Termination::ClientError;
    if (request_.active()) {
        request_.cancel(status, term); // an error while reading the body ends the request
    } else {
        request_.log_refused(status, term); // refused before it started: still one log line
    }
    scratch_answer_.clear();
    http::write_synthetic_response(scratch_answer_, status, true, false,
                                   date_line_now(ctx_.worker.unix_now()));
    conn_->write(scratch_answer_);
    state_ = State::Closing;
    timer_.arm(ctx_.config().limits.client_idle_timeout);
    if (conn_->output_size() == 0) {
        close_after_flush();
    }
}

void ClientSession::close_after_flush() {
    body_.clear();
    if (reset_at_close_) {
        conn_->reset_on_close();
        close_now();
        return;
    }
    conn_->shutdown_write();
    conn_->drain(conn_->input_size());
    state_ = State::Lingering;
    timer_.arm(kLingerTime);
}

void ClientSession::close_now() {
    if (state_ == State::Closed) {
        return;
    }
    const State was = state_;
    state_ = State::Closed;
    request_.cancel(499, Termination::ClientAbort); // the client went away mid-request
    if (was == State::ReadingHead && parser_.started() && !request_.active()) {
        // Gone with part of a head sent: a request all the same (HAProxy's "CR"), one line.
        request_.log_refused(499, Termination::ClientAbort);
    }
    timer_.cancel();
    conn_->set_reading(false);
    unlink();
    ctx_.worker.dispose(std::unique_ptr<net::Disposable>(this));
}

} // namespace lacquer::proxy
