// The connection's life: parse with llhttp (pausing at each message end), hand the request to the
// worker's Responder, and write replies strictly in request order. A reply that must wait (a
// delay_ms timer, or an earlier delayed reply) is queued; the common case goes straight to the
// socket (write_now). `delete this` happens only in maybe_finish(), on_event() and a failed
// accept(), each as the last thing done.
#include "demo_origin/connection.h"

#include "demo_origin/json.h"
#include "demo_origin/worker.h"

#include <cerrno>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::demo_origin {

namespace {

// Bounds that keep one client from holding unbounded memory.
constexpr std::size_t kMaxHeadBytes = 64 * 1024;
constexpr std::size_t kMaxQueued = 64;              // replies waiting behind a delayed one
constexpr std::size_t kMaxUnsent = 4 * 1024 * 1024; // bytes the client has not read yet
constexpr timeval kIdleTimeout{120, 0};             // longer than the longest delay_ms
constexpr timeval kWriteTimeout{60, 0};
// After our FIN, how long unread client bytes are drained. Closing with unread bytes would send
// an RST that can destroy the 400 we just wrote before the client reads it.
constexpr timeval kLingerTimeout{2, 0};

bool iequals(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

Connection& self_of(llhttp_t* parser) {
    return *static_cast<Connection*>(parser->data);
}

} // namespace

void Connection::accept(Worker& worker, int fd) {
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (evutil_make_socket_nonblocking(fd) != 0) {
        ::close(fd);
        return;
    }
    bufferevent* bev = bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == nullptr) {
        ::close(fd);
        return;
    }
    auto* conn = new Connection(worker, bev);
    worker.adopt(conn);
    worker.stats().count_connection();
    bufferevent_setcb(bev, &Connection::on_read, &Connection::on_write, &Connection::on_event,
                      conn);
    bufferevent_set_timeouts(bev, &kIdleTimeout, &kWriteTimeout);
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) != 0) {
        delete conn;
    }
}

Connection::Connection(Worker& worker, bufferevent* bev) : worker_(worker), bev_(bev) {
    llhttp_settings_init(&settings_);
    settings_.on_url = &Connection::on_url;
    settings_.on_header_field = &Connection::on_header_field;
    settings_.on_header_value = &Connection::on_header_value;
    settings_.on_header_value_complete = &Connection::on_header_value_complete;
    settings_.on_headers_complete = &Connection::on_headers_complete;
    settings_.on_body = &Connection::on_body;
    settings_.on_message_complete = &Connection::on_message_complete;
    settings_.on_message_begin = [](llhttp_t* parser) {
        self_of(parser).reset_request();
        return 0;
    };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
    reset_request();
}

Connection::~Connection() {
    for (const std::unique_ptr<Pending>& pending : queue_) {
        if (pending->timer != nullptr) {
            event_free(pending->timer);
        }
    }
    bufferevent_free(bev_);
    worker_.forget(this);
}

void Connection::reset_request() {
    url_.clear();
    field_.clear();
    value_.clear();
    locale_.clear();
    currency_.clear();
    region_.clear();
    if_none_match_.clear();
    expect_continue_ = false;
    head_bytes_ = 0;
    body_length_ = 0;
    body_fnv_ = kFnvOffset;
}

bool Connection::over_head_limit(std::size_t more) {
    head_bytes_ += more;
    return head_bytes_ > kMaxHeadBytes;
}

// ---- libevent callbacks ----

void Connection::on_read(bufferevent*, void* self) {
    auto* conn = static_cast<Connection*>(self);
    if (conn->lingering_) {
        evbuffer* input = bufferevent_get_input(conn->bev_);
        evbuffer_drain(input, evbuffer_get_length(input));
        return;
    }
    conn->parse_input();
    conn->maybe_finish();
}

void Connection::on_write(bufferevent*, void* self) {
    auto* conn = static_cast<Connection*>(self);
    // The client has read everything we wrote: take more requests if we had stopped.
    if (conn->read_paused_ && !conn->closing_ && conn->queue_.size() < kMaxQueued) {
        conn->read_paused_ = false;
        (void)bufferevent_enable(conn->bev_, EV_READ);
        conn->parse_input();
    }
    conn->maybe_finish();
}

void Connection::on_event(bufferevent*, short what, void* self) {
    auto* conn = static_cast<Connection*>(self);
    if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_ERROR) == 0 && !conn->lingering_) {
        // The client finished sending; it may still read the replies it is owed.
        conn->closing_ = true;
        conn->maybe_finish();
        return;
    }
    delete conn; // error, timeout, or the end of lingering
}

void Connection::on_timer(int, short, void* arg) {
    auto* pending = static_cast<Pending*>(arg);
    Connection* conn = pending->owner;
    pending->ready = true;
    conn->flush_ready();
    conn->maybe_finish();
}

// ---- parsing ----

void Connection::parse_input() {
    evbuffer* input = bufferevent_get_input(bev_);
    while (!closing_ && !read_paused_) {
        evbuffer_iovec vec{};
        if (evbuffer_peek(input, -1, nullptr, &vec, 1) < 1 || vec.iov_len == 0) {
            return;
        }
        const char* data = static_cast<const char*>(vec.iov_base);
        const llhttp_errno_t rc = llhttp_execute(&parser_, data, vec.iov_len);
        if (rc == HPE_OK) {
            evbuffer_drain(input, vec.iov_len);
            continue;
        }
        if (rc == HPE_PAUSED || rc == HPE_PAUSED_UPGRADE) {
            const auto used = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            evbuffer_drain(input, used);
            if (rc == HPE_PAUSED_UPGRADE) {
                closing_ = true; // the request was answered already; we never switch protocols
                return;
            }
            llhttp_resume(&parser_);
            dispatch_request();
            continue;
        }
        evbuffer_drain(input, evbuffer_get_length(input));
        reject(llhttp_get_error_reason(&parser_) != nullptr ? llhttp_get_error_reason(&parser_)
                                                            : llhttp_errno_name(rc));
        return;
    }
}

void Connection::dispatch_request() {
    ParsedRequest request;
    request.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    request.target = url_;
    request.http_minor = parser_.http_minor;
    // CONNECT and Upgrade requests get an ordinary answer, then the connection closes.
    request.keep_alive = llhttp_should_keep_alive(&parser_) != 0 && parser_.upgrade == 0;
    request.locale = locale_;
    request.currency = currency_;
    request.region = region_;
    request.if_none_match = if_none_match_;
    request.body_length = body_length_;
    request.body_fnv = body_fnv_;

    Reply& reply = worker_.scratch_reply();
    worker_.responder().respond(request, reply);
    if (reply.close) {
        closing_ = true;
    }
    enqueue(reply);
    if (queue_.size() >= kMaxQueued ||
        evbuffer_get_length(bufferevent_get_output(bev_)) > kMaxUnsent) {
        read_paused_ = true;
        (void)bufferevent_disable(bev_, EV_READ);
    }
}

void Connection::reject(std::string_view why) {
    Reply& reply = worker_.scratch_reply();
    worker_.responder().bad_request(why, reply);
    closing_ = true;
    enqueue(reply);
}

// ---- replies in order ----

void Connection::enqueue(Reply& reply) {
    if (queue_.empty() && reply.delay_ms == 0) {
        write_now(reply.bytes);
        return;
    }
    auto pending = std::make_unique<Pending>();
    pending->owner = this;
    pending->reply.bytes.swap(reply.bytes);
    if (reply.delay_ms > 0) {
        pending->timer = evtimer_new(worker_.base(), &Connection::on_timer, pending.get());
        const timeval delay{static_cast<time_t>(reply.delay_ms / 1000),
                            static_cast<suseconds_t>((reply.delay_ms % 1000) * 1000)};
        if (pending->timer == nullptr || evtimer_add(pending->timer, &delay) != 0) {
            pending->ready = true; // no timer: answer now rather than never
        }
    } else {
        pending->ready = true;
    }
    queue_.push_back(std::move(pending));
    flush_ready();
}

// When nothing is waiting in the output buffer the reply goes straight to the socket; only what
// the kernel does not take is left to the bufferevent. That saves the two epoll_ctl calls and the
// extra loop turn that arming and disarming the write event costs for every small response,
// which is most of the origin's CPU time per request. Order is kept: a direct send happens only
// when the output buffer is empty.
void Connection::write_now(std::string_view bytes) {
    evbuffer* output = bufferevent_get_output(bev_);
    if (evbuffer_get_length(output) == 0) {
        const ssize_t sent = ::send(bufferevent_getfd(bev_), bytes.data(), bytes.size(),
                                    MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(sent));
        }
        // Errors other than a full socket buffer surface through the bufferevent's own write.
    }
    if (!bytes.empty()) {
        (void)bufferevent_write(bev_, bytes.data(), bytes.size());
    }
}

void Connection::flush_ready() {
    while (!queue_.empty() && queue_.front()->ready) {
        Pending& front = *queue_.front();
        write_now(front.reply.bytes);
        if (front.timer != nullptr) {
            event_free(front.timer);
        }
        queue_.pop_front();
    }
}

void Connection::maybe_finish() {
    if (!closing_ || lingering_ || !queue_.empty() ||
        evbuffer_get_length(bufferevent_get_output(bev_)) != 0) {
        return;
    }
    lingering_ = true;
    if (::shutdown(bufferevent_getfd(bev_), SHUT_WR) != 0) {
        delete this;
        return;
    }
    evbuffer* input = bufferevent_get_input(bev_);
    evbuffer_drain(input, evbuffer_get_length(input));
    bufferevent_set_timeouts(bev_, &kLingerTimeout, &kLingerTimeout);
    if (bufferevent_enable(bev_, EV_READ) != 0) {
        delete this;
    }
}

// ---- llhttp callbacks: copy what the Responder needs, nothing more ----

int Connection::on_url(llhttp_t* parser, const char* at, std::size_t length) {
    Connection& self = self_of(parser);
    if (self.over_head_limit(length)) {
        return -1;
    }
    self.url_.append(at, length);
    return 0;
}

int Connection::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
    Connection& self = self_of(parser);
    if (self.over_head_limit(length)) {
        return -1;
    }
    self.field_.append(at, length);
    return 0;
}

int Connection::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
    Connection& self = self_of(parser);
    if (self.over_head_limit(length)) {
        return -1;
    }
    self.value_.append(at, length);
    return 0;
}

int Connection::on_header_value_complete(llhttp_t* parser) {
    Connection& self = self_of(parser);
    const std::string_view field = self.field_;
    if (iequals(field, "x-locale")) {
        self.locale_ = self.value_;
    } else if (iequals(field, "x-currency")) {
        self.currency_ = self.value_;
    } else if (iequals(field, "x-region")) {
        self.region_ = self.value_;
    } else if (iequals(field, "if-none-match")) {
        self.if_none_match_ = self.value_;
    } else if (iequals(field, "expect")) {
        self.expect_continue_ = iequals(self.value_, "100-continue");
    }
    self.field_.clear();
    self.value_.clear();
    return 0;
}

int Connection::on_headers_complete(llhttp_t* parser) {
    Connection& self = self_of(parser);
    const bool has_body = (parser->flags & F_CHUNKED) != 0 || parser->content_length > 0;
    // Only when nothing is queued: an interim 100 must not overtake an earlier request's reply.
    if (self.expect_continue_ && has_body && parser->http_minor >= 1 && self.queue_.empty()) {
        self.write_now("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return 0;
}

int Connection::on_body(llhttp_t* parser, const char* at, std::size_t length) {
    Connection& self = self_of(parser);
    self.body_length_ += length;
    self.body_fnv_ = fnv1a64(self.body_fnv_, std::string_view(at, length));
    return 0;
}

int Connection::on_message_complete(llhttp_t*) {
    return HPE_PAUSED; // parse_input() dispatches, then resumes
}

} // namespace lacquer::demo_origin
