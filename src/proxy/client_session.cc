#include "lacquer/proxy/client_session.h"

#include "lacquer/cache/object_store.h"
#include "lacquer/core/assert.h"
#include "lacquer/http/headers.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/proxy_metrics.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace lacquer::proxy {

namespace {
// Response bytes queued for the client at which the origin side resumes (origin_response.cc
// pauses it above its high mark).
constexpr std::size_t kClientDrainMark = 128 * 1024;
// After an error answer, how long unread client bytes are read and dropped before closing, so
// that the client reads the answer instead of a reset (nginx's lingering close).
constexpr core::Millis kLingerTime{2000};
} // namespace

ClientSession::ClientSession(WorkerContext& context)
    : ctx_(context), parser_(http::HeadKind::Request, context.head_limits()),
      fetch_(context.worker, *this,
             http::HeadLimits{context.head_limits().max_head_bytes,
                              context.head_limits().max_head_bytes}),
      timer_(context.worker, &ClientSession::on_timer, this),
      key_buffer_(static_cast<std::size_t>(context.config().limits.max_uri_bytes)) {}

void ClientSession::start(WorkerContext& context, int fd, const sockaddr* peer) {
    const std::uint32_t open = context.open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
    if (open > context.config().limits.max_connections) {
        context.open_connections.fetch_sub(1, std::memory_order_relaxed);
        count(context, &ProxyMetrics::connections_refused);
        // Shed load with a clear answer; the socket is fresh, so this small write cannot block.
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 24\r\nConnection: close\r\n"
            "Retry-After: 1\r\n\r\n503 Service Unavailable\n";
        [[maybe_unused]] const ssize_t n =
            ::send(fd, kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        ::close(fd);
        return;
    }
    count(context, &ProxyMetrics::connections_accepted);
    std::unique_ptr<ClientSession> session(new ClientSession(context));
    session->counted_ = true;
    session->conn_ = net::Connection::adopt(context.worker, fd, peer, session.get());
    if (!session->conn_) {
        return;
    }
    ++context.live_sessions;
    session->link();
    session->conn_->set_drain_mark(kClientDrainMark);
    // A client that does not read what we send is dropped after the idle timeout.
    session->conn_->set_timeouts(core::Millis(0), context.config().limits.client_idle_timeout);
    session->timer_.arm(context.config().limits.client_idle_timeout);
    session.release(); // owned by its connection's callbacks from now on; ends via dispose()
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

void drain_sessions(WorkerContext& context) {
    context.draining = true;
    for (ClientSession* s = context.sessions; s != nullptr;) {
        ClientSession* next = s->next_session(); // drain() may unlink s
        s->drain();
        s = next;
    }
}

void ClientSession::drain() {
    keep_alive_ = false;
    if (state_ == State::ReadingHead && !parser_.started() && conn_->input_size() == 0) {
        close_now(); // idle keep-alive connection: nothing is lost
    }
}

void close_all_sessions(WorkerContext& context) {
    while (context.sessions != nullptr) {
        delete context.sessions; // unlinks itself
    }
    while (context.fills != nullptr) {
        delete context.fills; // unlinks itself; its waiters learn it failed
    }
}

ClientSession::~ClientSession() {
    unlink();
    stop_waiting();
    stop_streaming();
    if (fill_ != nullptr) {
        fill_->detach_client();
    }
    fetch_.cancel();
    release_generation();
    if (counted_) {
        ctx_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
    if (conn_) {
        --ctx_.live_sessions;
    }
}

// ---- connection FSM ------------------------------------------------------------------------

void ClientSession::on_readable(net::Connection&) {
    switch (state_) {
    case State::ReadingHead:
        process_input();
        return;
    case State::ReadingBody:
        // Guarded like process_input(): an answer given at once (the pool is busy) ends the
        // request inside read_body(), and the next one must not start in there.
        in_process_ = true;
        read_body();
        in_process_ = false;
        if (state_ == State::ReadingHead) {
            process_input();
        }
        return;
    case State::Forwarding:
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
            dispatch();
        }
    }
    in_process_ = false;
}

void ClientSession::release_generation() {
    if (gen_ != nullptr) {
        ctx_.release(*gen_);
        gen_ = nullptr;
    }
}

http::TargetOutcome ClientSession::read_target(http::RequestTarget& target) {
    const http::RequestHead& req = parser_.request();
    const http::PathRules& rules = gen_->routes().path_rules();
    const http::TargetOutcome outcome =
        http::read_request_target(req.target, req.method, rules,
                                  std::span<char>(target_buffer_.get(), target_capacity_), target);
    if (outcome != http::TargetOutcome::TooLong || target_buffer_) {
        return outcome;
    }
    // Most paths are already normal and need no buffer; the first one that is not gets one,
    // kept for the connection (a target is never longer than the URI limit).
    target_capacity_ = static_cast<std::size_t>(ctx_.config().limits.max_uri_bytes);
    target_buffer_ = core::make_block(target_capacity_);
    return http::read_request_target(req.target, req.method, rules,
                                     std::span<char>(target_buffer_.get(), target_capacity_),
                                     target);
}

std::string_view ClientSession::request_authority(const http::RequestTarget& target) const {
    // RFC 9112 §3.2: an absolute-form target's authority is the request's (a Host that says
    // otherwise is refused); HTTP/1.1 always has a non-empty Host (the parser checks). An
    // HTTP/1.0 request without either is routed, keyed and sent upstream under one host: the
    // first server of the default route's origin, as configured (nginx's $proxy_host).
    const http::Header* host = parser_.request().headers.find("Host");
    if (target.absolute_form) {
        if (host != nullptr && !host->value.empty() &&
            !http::iequals(host->value, target.authority)) {
            return {};
        }
        return target.authority;
    }
    if (host != nullptr && !host->value.empty()) {
        return host->value;
    }
    const Generation& g = gen_->shared();
    const auto& servers = g.pool_specs[g.routes->default_route().pool].servers;
    return servers.empty() ? std::string_view("localhost") : std::string_view(servers.front().name);
}

void ClientSession::dispatch() {
    timer_.cancel();
    release_generation();   // (none is held between requests)
    gen_ = &ctx_.acquire(); // this request runs on the config it starts with
    const http::RequestHead& req = parser_.request();
    dispatched_ = true;
    request_start_ = ctx_.worker.now();
    origin_start_ = origin_end_ = core::Instant{};
    body_bytes_ = 0;
    route_ = nullptr;
    cache_status_ = CacheStatus::Pass;
    http10_ = req.version_minor == 0;
    head_request_ = req.is_head();
    keep_alive_ = req.keep_alive && !ctx_.draining; // draining: this answer is the last
    response_started_ = false;
    response_done_ = false;
    close_delimited_ = false;
    reset_at_close_ = false;
    client_body_ = ClientBody::None;

    if (req.method == "CONNECT") {
        answer_and_close(405);
        return;
    }
    // One reading of the target, and one authority, for the route, the key and the origin.
    http::RequestTarget target;
    switch (read_target(target)) {
    case http::TargetOutcome::Ok:
        break;
    case http::TargetOutcome::Malformed:
        answer_and_close(400);
        return;
    case http::TargetOutcome::TooLong:
        answer_and_close(414);
        return;
    }
    const std::string_view host = request_authority(target);
    if (host.empty()) {
        answer_and_close(400); // an absolute-form target that disagrees with Host
        return;
    }
    if (req.framing.kind == http::Framing::Kind::Length &&
        req.framing.length > ctx_.config().limits.max_body_bytes) {
        answer_and_close(413);
        return;
    }
    if (req.method == "PURGE" && !gen_->config().admin.purge_from.empty()) {
        answer_purge(host, target.origin_form);
        return;
    }
    const Route& route = gen_->routes().match(host_without_port(host), target.path, req.method);
    route_ = &route;
    if (route.reject) {
        answer_inline(404);
        return;
    }

    request_body_done_ = req.framing.kind == http::Framing::Kind::None;
    forward_ = http::ForwardedRequest();
    forward_.target = target.origin_form;
    forward_.client_addr = conn_->peer_host();
    forward_.host = host; // the origin gets the authority the request is routed and keyed on
    forward_.allow_underscores = route.allow_underscores;
    cache_fetch_ = false;
    invalidate_ = false;
    stale_ = cache::ObjectRef();
    status_field_ = CacheStatusField();
    status_field_.fwd = "bypass";
    if (route.cache != nullptr && serve_from_cache(route, host, target.origin_form)) {
        return;
    }
    if (!(req.is_get() || req.is_head() || req.method == "OPTIONS" || req.method == "TRACE")) {
        prepare_invalidation(host, target.origin_form);
    }
    if (!request_body_done_) {
        read_body_first(); // forward_request() follows once the whole body is here
        return;
    }
    origin_start_ = request_start_;
    forward_request();
}

void ClientSession::forward_request() {
    const http::RequestHead& req = parser_.request();
    const bool has_body = req.framing.kind != http::Framing::Kind::None;
    scratch_.clear();
    // A body read whole goes on with its length, whatever its framing was (as nginx does).
    forward_.body =
        has_body ? http::Framing{http::Framing::Kind::Length, body_.size()} : http::Framing{};
    http::write_upstream_request(scratch_, req, forward_);
    state_ = State::Forwarding;
    // Pipelined input stays queued while this request is served.
    if (cache_fetch_) {
        cache_status_ = CacheStatus::Miss;
        fetch_for_cache(*route_);
        return;
    }
    cache_status_ = CacheStatus::Pass;
    const bool body_follows = body_.size() > 0;
    fetch_.start(gen_->pool(route_->pool), scratch_, req.method, body_follows, 0);
    // start() may have answered already (all busy, refused): then nothing more is sent.
    if (body_follows && state_ == State::Forwarding) {
        send_request_body(); // queued right behind the head: both go out in one write
    }
}

void ClientSession::on_drained(net::Connection&) {
    switch (state_) {
    case State::Forwarding:
        if (stream_) {
            pump_stream();
            return;
        }
        active_fetch().resume_body();
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
    if (event == net::ConnEvent::Eof && state_ == State::Forwarding && request_body_done_ &&
        !response_started_) {
        // A client may half-close after its request; the answer is still wanted.
        keep_alive_ = false;
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
    case State::Forwarding:
        if (self->waiter_) {
            self->on_wait_timeout();
        }
        return;
    case State::Closed:
        return;
    }
}

// ---- endings -------------------------------------------------------------------------------

void ClientSession::finish_response() {
    response_done_ = true;
    if (!keep_alive_ || !request_body_done_) {
        state_ = State::Closing;
        if (conn_->output_size() == 0) {
            close_after_flush();
        }
        return;
    }
    next_request();
}

void ClientSession::next_request() {
    release_generation(); // the request is over: a reload's old generation may go
    if (body_.holds_resources()) {
        body_.clear(); // a big buffer goes back to the thread's spares, a file is closed
    }
    release_request_buffers(); // idle until the next head
    state_ = State::ReadingHead;
    timer_.arm(ctx_.config().limits.client_idle_timeout);
    conn_->set_reading(true);
    if (conn_->input_size() > 0) {
        process_input(); // pipelined requests already here (no-op when called from inside it)
    }
}

void ClientSession::release_request_buffers() {
    // The parser's, the key's and the fetch's buffers go back to the thread's spares (bounded,
    // emptied when the worker goes quiet: net/memory_trim.h) and the next request takes them
    // again; a large scratch head is freed. An idle keep-alive connection then holds ~2.5 KiB:
    // this object (~1.2 KiB), its socket's events and buffers (perf/connmem.sh).
    parser_.reset();
    fetch_.release_buffers();
    key_buffer_.release();
    target_buffer_.reset();
    variant_headers_.release();
    if (scratch_.capacity() > kKeptScratch) {
        std::string().swap(scratch_);
    }
}

void ClientSession::answer_inline(int status) {
    cache_status_ = CacheStatus::Synth;
    request_body_done_ = parser_.request().framing.kind == http::Framing::Kind::None;
    if (!request_body_done_) {
        answer_and_close(status); // the body is not read: the connection cannot go on
        return;
    }
    scratch_.clear();
    http::write_synthetic_response(scratch_, status, !keep_alive_, head_request_);
    conn_->write(scratch_);
    response_started_ = true;
    log_request(status);
    finish_response();
}

void ClientSession::answer_and_close(int status) {
    keep_alive_ = false;
    if (!dispatched_ && status != 0) {
        // Refused before dispatch (bad head, timeout): still one request in the log.
        dispatched_ = true;
        request_start_ = ctx_.worker.now();
        route_ = nullptr;
        body_bytes_ = 0;
        origin_start_ = origin_end_ = core::Instant{};
    }
    if (cache_status_ != CacheStatus::Error) {
        cache_status_ = CacheStatus::Synth;
    }
    log_request(status);
    if (status != 0 && !response_started_) {
        scratch_.clear();
        http::write_synthetic_response(scratch_, status, true);
        conn_->write(scratch_);
        response_started_ = true;
    }
    state_ = State::Closing;
    timer_.arm(ctx_.config().limits.client_idle_timeout);
    if (conn_->output_size() == 0) {
        close_after_flush();
    }
}

void ClientSession::end_unfinished(int status) {
    cache_status_ = CacheStatus::Error;
    log_request(status);
    // Nothing more is written; the queued bytes drain, then FIN, which a client reads as a cut
    // answer when the framing says how long it is. When only the close ends the body (HTTP/1.0),
    // a FIN would pass for the end of it: a reset says it broke (RFC 9112 §6.3, item 8).
    reset_at_close_ = close_delimited_;
    answer_and_close(0);
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
    state_ = State::Closed;
    log_request(499); // the client went away mid-request (nginx's 499); no-op when logged
    timer_.cancel();
    stop_waiting();
    stop_streaming();
    if (fill_ != nullptr) {
        fill_->detach_client(); // the fill goes on for the cache and the other waiters
        fill_ = nullptr;
    }
    fetch_.cancel();
    conn_->set_reading(false);
    unlink();
    ctx_.worker.dispose(std::unique_ptr<net::Disposable>(this));
}

void ClientSession::log_request(int status) {
    if (!dispatched_) {
        return;
    }
    dispatched_ = false;
    // Counted on the request's generation: its route indexes are that generation's.
    const ProxyMetrics* metrics = gen_ != nullptr ? gen_->metrics() : ctx_.metrics();
    if (metrics != nullptr) {
        const ProxyMetrics& m = *metrics;
        const std::size_t route = route_ != nullptr ? route_->index : m.unrouted_index();
        const auto cs = static_cast<std::size_t>(cache_status_);
        ctx_.count(m.requests[route][cs]);
        ctx_.shard->observe(m.durations[route][cs], ctx_.worker.now() - request_start_);
        ctx_.count(m.sent_bytes, body_bytes_);
    }
    if (ctx_.access_log == nullptr) {
        return;
    }
    const http::RequestHead& req = parser_.request();
    const http::Header* referer = req.headers.find("Referer");
    const http::Header* agent = req.headers.find("User-Agent");
    const core::Instant now = ctx_.worker.now();
    using Ms = std::chrono::duration<double, std::milli>;
    AccessLogEntry e;
    e.client = conn_->peer_host();
    e.method = req.method.empty() ? std::string_view("-") : req.method;
    e.target = req.target.empty() ? std::string_view("-") : req.target;
    e.version_minor = req.version_minor;
    e.status = status;
    e.body_bytes = body_bytes_;
    e.referer = referer != nullptr ? referer->value : std::string_view();
    e.user_agent = agent != nullptr ? agent->value : std::string_view();
    e.cache_status = cache_status_name(cache_status_);
    e.route = route_ != nullptr ? std::string_view(route_->name) : std::string_view("-");
    e.origin_ms =
        origin_start_ == core::Instant{}
            ? -1.0
            : Ms((origin_end_ == core::Instant{} ? now : origin_end_) - origin_start_).count();
    e.total_ms = Ms(now - request_start_).count();
    e.unix_time = static_cast<std::int64_t>(std::time(nullptr));
    ctx_.access_log->write(ctx_.worker.index(), e);
}

} // namespace lacquer::proxy
