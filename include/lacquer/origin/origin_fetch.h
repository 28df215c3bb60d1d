#pragma once
// One exchange with an origin: Connect -> SendHead -> ReadHead -> ReadBody -> Complete | Failed.
// The fetch owns its upstream connection and hands body bytes to its FetchObserver as they
// arrive, in place (the observer moves them on without copying). Timeouts: connect, between
// bytes while the request body goes out (the origin must keep taking it), first byte (from the
// end of the request to the response head), between bytes of the answer. Before it connects, an
// exchange enters its pool's admission limit (admission.h) and may wait there (Queued). An attempt
// that fails before any response byte is tried again on a fresh connection, to another server
// when there is one, as decide_retry() (retry_policy.h) and the pool's RetryBudget allow; the
// observer then sends the request body again (fetch_body_wanted). Nothing reaches the observer
// from a failed attempt, so a retry never shows a client part of an answer.
// Thread: the owning worker's only. Callbacks into the observer may end the fetch.

#include "lacquer/http/chunked.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/net/timer.h"
#include "lacquer/origin/origin_pool.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lacquer::origin {

// Also the `kind` label of lacquer_origin_errors_total (lower-cased by the metrics table).
#define LACQUER_FETCH_FAULTS(X)                                                                    \
    X(None, 0)                                                                                     \
    X(AllBusy, 503)                                                                                \
    X(ConnectFailed, 502)                                                                          \
    X(ConnectTimeout, 504)                                                                         \
    X(FirstByteTimeout, 504)                                                                       \
    X(BetweenBytesTimeout, 504)                                                                    \
    X(BadResponse, 502)                                                                            \
    X(Closed, 502)                                                                                 \
    X(Tls, 502) /* the TLS handshake failed (verification, protocol): the reason is logged */      \
    X(QueueFull, 503)                                                                              \
    X(QueueTimeout, 503)

enum class FetchFault : std::uint8_t {
#define LACQUER_AS_ENUM(name, status) name,
    LACQUER_FETCH_FAULTS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
// NOLINTNEXTLINE(bugprone-macro-parentheses): each expansion is one term of a sum
#define LACQUER_AS_ONE(name, status) +1
inline constexpr std::size_t kFetchFaultCount = 0 LACQUER_FETCH_FAULTS(LACQUER_AS_ONE);
#undef LACQUER_AS_ONE
std::string_view fetch_fault_name(FetchFault fault);
int fetch_fault_status(FetchFault fault);
// The pool's admission refused the exchange: the answer says when to come back (Retry-After).
constexpr bool is_admission_fault(FetchFault fault) {
    return fault == FetchFault::QueueFull || fault == FetchFault::QueueTimeout;
}

class OriginFetch;

class FetchObserver {
public:
    // An interim response (RFC 9110 §15.2: 100, 102, 103, ...; never 101, which fails the
    // fetch) came before the final one: fetch.response() is its head during this call only.
    // The observer may pass it on; by default it is dropped.
    virtual void fetch_interim(OriginFetch& /*fetch*/) {}
    // The final response head arrived. fetch.response() stays valid until the fetch ends.
    virtual void fetch_head(OriginFetch& fetch) = 0;
    // `n` body bytes stand at the front of `from`'s input: the observer takes all of them
    // (move_input_to or drain).
    virtual void fetch_body(OriginFetch& fetch, net::Connection& from, std::size_t n) = 0;
    // The body is complete; the upstream connection has gone back to its pool.
    virtual void fetch_done(OriginFetch& fetch) = 0;
    // The exchange failed; `head_delivered` says whether fetch_head was called.
    virtual void fetch_failed(OriginFetch& fetch, FetchFault fault, bool head_delivered) = 0;
    // The request-body bytes written upstream have drained (see OriginFetch::upstream()).
    virtual void fetch_upstream_drained(OriginFetch& fetch) = 0;
    // An exchange with `body_follows` has a connection (the first, after an admission wait, or a
    // retry's): the observer writes the whole body from its first byte to upstream(), then
    // calls request_sent(). Called from inside start() too.
    virtual void fetch_body_wanted(OriginFetch&) {}

protected:
    ~FetchObserver() = default;
};

class OriginFetch final : private net::ConnectionHandler, private AdmissionWaiter {
public:
    OriginFetch(net::Worker& worker, FetchObserver& observer, http::HeadLimits limits);
    ~OriginFetch();
    OriginFetch(const OriginFetch&) = delete;
    OriginFetch& operator=(const OriginFetch&) = delete;

    // Sends `head` (a complete serialised request head). With `body_follows`, the observer
    // writes the body when fetch_body_wanted() asks; without, the request is sent. `method` says
    // whether a retry is safe; `retry_any_method` (the route's retry_non_idempotent) makes it
    // safe whatever the method. Failures are reported through the observer (possibly before
    // start() returns).
    void start(OriginPool& pool, std::string_view head, std::string_view method, bool body_follows,
               std::uint64_t hash, bool retry_any_method = false);
    net::Connection* upstream() { return upstream_ ? &upstream_->connection() : nullptr; }
    void request_sent();

    // Observer backpressure: stop handing over body bytes / go on.
    void pause_body();
    void resume_body();
    // Abandons the exchange (the client went away); the connection is closed, not reused.
    void cancel();

    bool active() const { return state_ != State::Idle && state_ != State::Done; }
    // Between exchanges (the client's connection is idle): the response parser's memory goes
    // back to the thread's spares and a large request copy is freed, so an idle fetch holds a
    // few hundred bytes; response() is empty after. Nothing happens while an exchange runs.
    void release_buffers();
    const http::ResponseHead& response() const { return parser_.response(); }
    std::string_view server_name() const;

private:
    enum class State : std::uint8_t {
        Idle,
        Queued, // waiting for an admission slot
        Connecting,
        Waiting,
        ReadingHead,
        ReadingBody,
        Done
    };
    enum class Slot : std::uint8_t { None, Queued, Held }; // in the pool's Admission

    void enter_admission();
    void admitted(AdmissionTicket& ticket) override;
    void leave_admission(); // on every end of the exchange
    // Passive health: the attempt's server failed before its answer (counted once an attempt,
    // whether the fetch then retries elsewhere or fails).
    void note_failure();
    void connect(bool fresh_only);
    // A failed attempt: true when a retry started (the caller returns at once).
    bool try_again(RetryReason reason);
    void arm_waiting_timer(); // connected, the answer not started
    void on_readable(net::Connection& conn) override;
    void on_drained(net::Connection& conn) override;
    void on_event(net::Connection& conn, net::ConnEvent event) override;
    static void on_timer(void* arg);
    void read_head();
    void read_body();
    void finish();
    void fail(FetchFault fault);
    // The connect failed in its TLS handshake (logged with the reason on stderr).
    bool tls_failure() const;
    void count(std::uint32_t slot) const;

    net::Worker& worker_;
    OriginPool* pool_ = nullptr; // the pool of the current exchange
    FetchObserver& observer_;
    http::HeadParser parser_;
    http::ChunkedDecoder chunked_;
    net::Timer timer_;
    std::unique_ptr<UpstreamConnection> upstream_;
    std::string head_; // kept for a retry; capacity reused across requests (up to kKeptHead)
    static constexpr std::size_t kKeptHead = 1024;
    std::uint64_t hash_ = 0;
    std::size_t server_ = static_cast<std::size_t>(-1);
    std::size_t exclude_ = OriginPool::kNoServer; // the server a retry avoids
    std::shared_ptr<AdmissionTicket> ticket_;     // while Queued
    Slot slot_ = Slot::None;
    std::uint32_t retries_done_ = 0; // counted against the pool's `retries`
    std::uint64_t body_left_ = 0;
    State state_ = State::Idle;
    bool body_follows_ = false;
    bool request_sent_ = false;
    bool response_started_ = false; // any response byte seen
    bool stale_retry_done_ = false;
    bool failure_noted_ = false; // this attempt's failure went to passive health
    bool idempotent_ = true;
    bool paused_ = false;
    bool in_delivery_ = false;
    bool head_only_ = false;
    bool eof_ = false;           // the origin closed its side
    core::Instant started_at_{}; // the worker's now() at start()
    core::Instant queued_at_{};
};

} // namespace lacquer::origin
