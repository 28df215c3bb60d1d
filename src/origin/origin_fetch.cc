#include "lacquer/origin/origin_fetch.h"

#include "lacquer/core/assert.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/net/worker.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace lacquer::origin {

namespace {
struct FaultInfo {
    std::string_view name;
    int status;
};
constexpr std::array kFaults{
#define LACQUER_AS_INFO(name, status) FaultInfo{#name, status},
    LACQUER_FETCH_FAULTS(LACQUER_AS_INFO)
#undef LACQUER_AS_INFO
};
// Request-body bytes queued upstream beyond which the observer waits for fetch_upstream_drained.
constexpr std::size_t kUpstreamDrainMark = 64 * 1024;
} // namespace

std::string_view fetch_fault_name(FetchFault fault) {
    return kFaults[static_cast<std::size_t>(fault)].name;
}
int fetch_fault_status(FetchFault fault) {
    return kFaults[static_cast<std::size_t>(fault)].status;
}

OriginFetch::OriginFetch(net::Worker& worker, FetchObserver& observer, http::HeadLimits limits)
    : worker_(worker), observer_(observer), parser_(http::HeadKind::Response, limits),
      timer_(worker, &OriginFetch::on_timer, this) {}

OriginFetch::~OriginFetch() {
    cancel();
    core::give_string(head_);
}

std::string_view OriginFetch::server_name() const {
    if (pool_ == nullptr || server_ >= pool_->spec().servers.size()) {
        return "-";
    }
    return pool_->spec().servers[server_].name;
}

void OriginFetch::start(OriginPool& pool, std::string_view head, std::string_view method,
                        bool body_follows, std::uint64_t hash, bool retry_any_method) {
    LACQUER_ASSERT(!active());
    pool_ = &pool;
    core::assign_string(head_, head);
    head_only_ = method == "HEAD";
    hash_ = hash;
    body_follows_ = body_follows;
    request_sent_ = !body_follows;
    response_started_ = false;
    paused_ = false;
    eof_ = false;
    parser_.reset();
    parser_.expect_response_to(head_only_ ? "HEAD" : "GET");
    chunked_.reset();
    idempotent_ = retry_any_method || is_idempotent(method);
    retries_done_ = 0;
    stale_retry_done_ = false;
    exclude_ = OriginPool::kNoServer;
    started_at_ = worker_.now();
    if (PoolGuard* guard = pool.spec().guard.get()) {
        guard->retry_budget.record_request(started_at_);
        if (guard->admission.limited()) {
            enter_admission();
            return;
        }
    }
    connect(false);
}

void OriginFetch::enter_admission() {
    Admission& admission = pool_->spec().guard->admission;
    switch (admission.enter(worker_, *this, ticket_)) {
    case Admission::Entry::Admitted:
        slot_ = Slot::Held;
        connect(false);
        return;
    case Admission::Entry::Queued:
        slot_ = Slot::Queued;
        state_ = State::Queued;
        queued_at_ = worker_.now();
        timer_.arm(pool_->spec().queue_timeout);
        return;
    case Admission::Entry::Full:
        state_ = State::Waiting; // so that fail() reports it as an active exchange
        server_ = static_cast<std::size_t>(-1);
        fail(FetchFault::QueueFull);
        return;
    }
}

void OriginFetch::admitted(AdmissionTicket& ticket) {
    if (state_ != State::Queued || ticket_.get() != &ticket) {
        return; // a wake-up for a wait that ended otherwise
    }
    ticket_->forget_waiter();
    ticket_.reset();
    slot_ = Slot::Held;
    timer_.cancel();
    if (pool_->counters() != nullptr && pool_->shard() != nullptr) {
        pool_->shard()->observe(pool_->counters()->queue_wait, worker_.now() - queued_at_);
    }
    connect(false);
}

void OriginFetch::leave_admission() {
    if (slot_ == Slot::None) {
        return;
    }
    Admission& admission = pool_->spec().guard->admission;
    // A queued ticket that leave() served meanwhile holds a slot too: it goes back.
    if (slot_ == Slot::Held || !admission.withdraw(*ticket_)) {
        admission.leave();
    }
    slot_ = Slot::None;
    if (ticket_) {
        ticket_->forget_waiter();
        ticket_.reset();
    }
}

void OriginFetch::count(std::uint32_t slot) const {
    if (pool_->shard() != nullptr) {
        pool_->shard()->add(slot);
    }
}

void OriginFetch::note_failure() {
    if (!failure_noted_ && server_ < pool_->spec().servers.size()) {
        pool_->record_failure(server_);
        failure_noted_ = true;
    }
}

void OriginFetch::connect(bool fresh_only) {
    failure_noted_ = false; // a new attempt
    AcquireError error = AcquireError::None;
    upstream_ = pool_->acquire(hash_, this, fresh_only, error, exclude_);
    if (!upstream_) {
        state_ = State::Waiting; // so that fail() reports it as an active exchange
        if (error == AcquireError::AllBusy) {
            server_ = static_cast<std::size_t>(-1);
            fail(FetchFault::AllBusy);
            return;
        }
        server_ = pool_->failed_server(); // refused at once
        note_failure();
        if (!try_again(RetryReason::ConnectFailed)) {
            fail(FetchFault::ConnectFailed);
        }
        return;
    }
    server_ = upstream_->server();
    if (const OriginCounters* c = pool_->counters()) {
        count(c->requests[server_]);
    }
    net::Connection& conn = upstream_->connection();
    conn.set_drain_mark(kUpstreamDrainMark);
    conn.write(head_); // queued until the connect completes
    if (conn.is_connected()) {
        state_ = State::Waiting;
        arm_waiting_timer();
    } else {
        state_ = State::Connecting;
        timer_.arm(pool_->spec().connect_timeout);
    }
    if (body_follows_) {
        observer_.fetch_body_wanted(*this); // queued right behind the head; may end the fetch
    }
}

bool OriginFetch::try_again(RetryReason reason) {
    const RetryVerdict verdict =
        decide_retry({reason, idempotent_, retries_done_, stale_retry_done_}, pool_->spec().retry);
    if (verdict != RetryVerdict::Retry) {
        return false;
    }
    const OriginCounters* c = pool_->counters();
    if (PoolGuard* guard = pool_->spec().guard.get();
        guard != nullptr && !guard->retry_budget.try_retry(worker_.now())) {
        if (c != nullptr) {
            count(c->retry_budget_exhausted);
        }
        return false;
    }
    if (c != nullptr) {
        count(c->retries[static_cast<std::size_t>(reason)]);
    }
    if (counts_against_retries(reason)) {
        ++retries_done_;
    } else {
        stale_retry_done_ = true;
    }
    // Another server when there is one; always a fresh connection.
    exclude_ = server_;
    timer_.cancel();
    if (upstream_) {
        pool_->release(std::move(upstream_), false);
    }
    request_sent_ = !body_follows_;
    response_started_ = false;
    eof_ = false;
    parser_.reset();
    parser_.expect_response_to(head_only_ ? "HEAD" : "GET");
    chunked_.reset();
    connect(true);
    return true;
}

void OriginFetch::arm_waiting_timer() {
    // While the request body goes out, the origin must keep taking it (between_bytes_timeout
    // per step of progress); once it is all out, the answer must start within first_byte.
    timer_.arm(request_sent_ ? pool_->spec().first_byte_timeout
                             : pool_->spec().between_bytes_timeout);
}

void OriginFetch::request_sent() {
    request_sent_ = true;
    if (state_ == State::Waiting) {
        timer_.arm(pool_->spec().first_byte_timeout);
    }
}

void OriginFetch::pause_body() {
    paused_ = true;
    // While the observer holds the body back (its client is slow), a quiet origin is not the
    // origin's fault: the between-bytes clock starts again on resume. The client side's own
    // write timeout bounds how long a client may take.
    if (state_ == State::ReadingBody) {
        timer_.cancel();
    }
}

void OriginFetch::resume_body() {
    if (!paused_) {
        return;
    }
    paused_ = false;
    if (state_ == State::ReadingBody) {
        timer_.arm(pool_->spec().between_bytes_timeout);
        read_body();
    }
}

void OriginFetch::cancel() {
    if (!active()) {
        return;
    }
    state_ = State::Done;
    timer_.cancel();
    if (upstream_) {
        pool_->release(std::move(upstream_), false);
    }
    leave_admission();
}

void OriginFetch::release_buffers() {
    if (active()) {
        return;
    }
    parser_.reset();
    if (head_.capacity() > kKeptHead) {
        core::give_string(head_);
    }
}

void OriginFetch::on_readable(net::Connection&) {
    switch (state_) {
    case State::Connecting:
    case State::Waiting:
        response_started_ = true;
        state_ = State::ReadingHead;
        read_head();
        return;
    case State::ReadingHead:
        read_head();
        return;
    case State::ReadingBody:
        timer_.arm(pool_->spec().between_bytes_timeout);
        read_body();
        return;
    case State::Idle:
    case State::Queued:
    case State::Done:
        return;
    }
}

void OriginFetch::read_head() {
    net::Connection& conn = upstream_->connection();
    for (;;) {
        const std::string_view bytes = conn.peek();
        if (bytes.empty()) {
            return; // need more
        }
        const auto fed = parser_.feed(bytes.data(), bytes.size());
        conn.drain(fed.consumed);
        if (fed.status == http::HeadParser::Status::Error) {
            fail(FetchFault::BadResponse);
            return;
        }
        if (fed.status == http::HeadParser::Status::NeedMore) {
            continue;
        }
        const int status = parser_.response().status;
        if (status >= 100 && status < 200) {
            if (status == 101) {
                fail(FetchFault::BadResponse); // we never ask for an upgrade
                return;
            }
            observer_.fetch_interim(*this);
            if (state_ != State::ReadingHead) {
                return; // the observer ended the exchange
            }
            parser_.reset(); // interim response: the final one follows
            parser_.expect_response_to(head_only_ ? "HEAD" : "GET");
            continue;
        }
        if (const OriginCounters* c = pool_->counters();
            c != nullptr && status >= 100 && status < 600) {
            count(c->responses[server_][static_cast<std::size_t>(status / 100 - 1)]);
        }
        pool_->record_response(server_, status); // passive health: a 5xx counts as a failure
        if (status == 503 && pool_->spec().retry.on_503) {
            const http::Header* after = parser_.response().headers.find("Retry-After");
            const std::string_view value = after != nullptr ? after->value : std::string_view();
            if (retry_after_allows_retry(after != nullptr ? &value : nullptr) &&
                try_again(RetryReason::Unavailable)) {
                return; // nothing of this answer reached the observer
            }
        }
        state_ = State::ReadingBody;
        body_left_ = parser_.response().framing.length;
        timer_.arm(pool_->spec().between_bytes_timeout);
        observer_.fetch_head(*this);
        if (state_ == State::ReadingBody) {
            read_body();
        }
        return;
    }
}

void OriginFetch::read_body() {
    if (in_delivery_) {
        return; // resume_body() from inside fetch_body: the running loop goes on
    }
    in_delivery_ = true;
    net::Connection* conn = &upstream_->connection();
    const http::Framing framing = parser_.response().framing;
    while (!paused_ && state_ == State::ReadingBody) {
        const std::size_t avail = conn->input_size();
        if (framing.kind == http::Framing::Kind::None ||
            (framing.kind == http::Framing::Kind::Length && body_left_ == 0)) {
            finish();
            break;
        }
        if (framing.kind == http::Framing::Kind::Length) {
            if (avail == 0) {
                break;
            }
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(avail, body_left_));
            body_left_ -= n;
            observer_.fetch_body(*this, *conn, n);
            continue;
        }
        if (framing.kind == http::Framing::Kind::UntilClose) {
            if (avail > 0) {
                observer_.fetch_body(*this, *conn, avail);
                continue;
            }
            if (eof_) {
                finish();
            }
            break;
        }
        // Chunked: framing bytes are read here, data bytes are handed over in place.
        if (chunked_.data_pending() > 0) {
            if (avail == 0) {
                break;
            }
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(avail, chunked_.data_pending()));
            chunked_.data_taken(n);
            observer_.fetch_body(*this, *conn, n);
            continue;
        }
        const std::string_view bytes = conn->peek();
        if (bytes.empty()) {
            break;
        }
        const auto step = chunked_.next(bytes);
        conn->drain(step.consumed);
        if (step.status == http::ChunkedDecoder::Status::Error) {
            fail(FetchFault::BadResponse);
            break;
        }
        if (step.status == http::ChunkedDecoder::Status::Done) {
            finish();
            break;
        }
    }
    in_delivery_ = false;
    if (state_ == State::ReadingBody && eof_ && !paused_) {
        // The origin closed before the body was complete.
        fail(FetchFault::Closed);
    }
}

void OriginFetch::on_drained(net::Connection&) {
    if (!active()) {
        return;
    }
    if (state_ == State::Waiting && !request_sent_) {
        arm_waiting_timer(); // the origin took more of the body
    }
    observer_.fetch_upstream_drained(*this);
}

void OriginFetch::on_event(net::Connection&, net::ConnEvent event) {
    switch (event) {
    case net::ConnEvent::Connected:
        if (state_ == State::Connecting) {
            state_ = State::Waiting;
            arm_waiting_timer();
        }
        return;
    case net::ConnEvent::Timeout:
        return; // our own timer decides
    case net::ConnEvent::Eof:
    case net::ConnEvent::Error:
        break;
    }
    if (state_ == State::ReadingBody) {
        eof_ = true;
        read_body(); // delivers what is left, then finishes (close-delimited) or fails
        return;
    }
    if (state_ == State::Connecting) {
        note_failure();
        if (tls_failure()) { // a bad certificate either way, or one the origin wanted of us
            fail(FetchFault::Tls);
            return;
        }
        if (!try_again(RetryReason::ConnectFailed)) {
            fail(FetchFault::ConnectFailed);
        }
        return;
    }
    if (tls_failure()) { // TLS 1.3: a client certificate refused after the handshake
        note_failure();
        fail(FetchFault::Tls);
        return;
    }
    if (state_ == State::Waiting && !response_started_) {
        // Closed or reset before any response byte: on a reused connection, the origin closed
        // it while idle (before reading the request); on a fresh one, it may have acted.
        const bool reused = upstream_ && upstream_->reused();
        if (!reused) {
            note_failure(); // a fresh connection the server dropped: its failure
        }
        if (try_again(reused ? RetryReason::StaleConnection : RetryReason::Closed)) {
            return;
        }
    }
    fail(state_ == State::ReadingHead ? FetchFault::BadResponse : FetchFault::Closed);
}

void OriginFetch::on_timer(void* arg) {
    auto* self = static_cast<OriginFetch*>(arg);
    switch (self->state_) {
    case State::Queued:
        if (self->pool_->spec().guard->admission.withdraw(*self->ticket_)) {
            self->slot_ = Slot::None;
            self->ticket_->forget_waiter();
            self->ticket_.reset();
            self->fail(FetchFault::QueueTimeout);
        } else {
            self->admitted(*self->ticket_); // a slot came just now: its wake-up finds nobody
        }
        return;
    case State::Connecting:
        self->note_failure();
        if (!self->try_again(RetryReason::ConnectTimeout)) {
            self->fail(FetchFault::ConnectTimeout);
        }
        return;
    case State::Waiting:
        // The origin stopped taking the request body, or did not start its answer.
        self->fail(self->request_sent_ ? FetchFault::FirstByteTimeout
                                       : FetchFault::BetweenBytesTimeout);
        return;
    case State::ReadingHead:
        self->fail(FetchFault::FirstByteTimeout);
        return;
    case State::ReadingBody:
        self->fail(FetchFault::BetweenBytesTimeout);
        return;
    case State::Idle:
    case State::Done:
        return;
    }
}

void OriginFetch::finish() {
    state_ = State::Done;
    timer_.cancel();
    const http::ResponseHead& r = parser_.response();
    const bool reusable =
        r.keep_alive && !eof_ && request_sent_ && r.framing.kind != http::Framing::Kind::UntilClose;
    pool_->release(std::move(upstream_), reusable);
    leave_admission();
    if (pool_->counters() != nullptr && pool_->shard() != nullptr) {
        pool_->shard()->observe(pool_->counters()->duration[server_], worker_.now() - started_at_);
    }
    observer_.fetch_done(*this);
}

bool OriginFetch::tls_failure() const {
    if (!upstream_ || !upstream_->connection().is_tls()) {
        return false;
    }
    const std::string reason = upstream_->connection().transport_error();
    if (reason.empty()) {
        return false; // refused or reset before TLS began: a connect failure
    }
    std::fprintf(stderr, "origin %s (%s): TLS handshake failed: %s\n", pool_->spec().name.c_str(),
                 std::string(server_name()).c_str(), reason.c_str());
    return true;
}

void OriginFetch::fail(FetchFault fault) {
    const bool head_delivered = state_ == State::ReadingBody;
    state_ = State::Done;
    timer_.cancel();
    if (upstream_) {
        pool_->release(std::move(upstream_), false);
    }
    leave_admission();
    const bool has_server = server_ < pool_->spec().servers.size(); // none when all were busy
    if (has_server && !head_delivered) {
        note_failure(); // passive health
    }
    if (const OriginCounters* c = pool_->counters(); c != nullptr && pool_->shard() != nullptr) {
        const std::size_t row = has_server ? server_ : pool_->spec().servers.size();
        count(c->errors[row][static_cast<std::size_t>(fault)]);
        if (has_server) {
            pool_->shard()->observe(c->duration[server_], worker_.now() - started_at_);
        }
    }
    observer_.fetch_failed(*this, fault, head_delivered);
}

} // namespace lacquer::origin
