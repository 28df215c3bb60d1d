#pragma once
// One exchange with an origin: Connect -> SendHead -> ReadHead -> ReadBody -> Complete | Failed.
// The fetch owns its upstream connection and hands body bytes to its FetchObserver as they
// arrive, in place (the observer moves them on without copying). Timeouts: connect, between
// bytes while the request body goes out (the origin must keep taking it), first byte (from the
// end of the request to the response head), between bytes of the answer. A request without a body
// that fails on a reused keep-alive connection before any response byte is retried once on a
// fresh connection (the origin may have closed it while idle).
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
    X(Tls, 502) /* the TLS handshake failed (verification, protocol): the reason is logged */

enum class FetchFault : std::uint8_t {
#define LACQUER_AS_ENUM(name, status) name,
    LACQUER_FETCH_FAULTS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
#define LACQUER_AS_ONE(name, status) +1
inline constexpr std::size_t kFetchFaultCount = 0 LACQUER_FETCH_FAULTS(LACQUER_AS_ONE);
#undef LACQUER_AS_ONE
std::string_view fetch_fault_name(FetchFault fault);
int fetch_fault_status(FetchFault fault);

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

protected:
    ~FetchObserver() = default;
};

class OriginFetch final : private net::ConnectionHandler {
public:
    OriginFetch(net::Worker& worker, FetchObserver& observer, http::HeadLimits limits);
    ~OriginFetch();
    OriginFetch(const OriginFetch&) = delete;
    OriginFetch& operator=(const OriginFetch&) = delete;

    // Sends `head` (a complete serialised request head). With `body_follows`, the caller then
    // writes the body to upstream() and calls request_sent(); without, the request is sent.
    // Failures are reported through the observer (possibly before start() returns).
    void start(OriginPool& pool, std::string_view head, std::string_view method, bool body_follows,
               std::uint64_t hash);
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
    enum class State : std::uint8_t { Idle, Connecting, Waiting, ReadingHead, ReadingBody, Done };

    void connect(bool fresh_only);
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
    bool may_retry() const;
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
    std::uint64_t body_left_ = 0;
    State state_ = State::Idle;
    bool body_follows_ = false;
    bool request_sent_ = false;
    bool response_started_ = false; // any response byte seen
    bool retried_ = false;
    bool paused_ = false;
    bool in_delivery_ = false;
    bool head_only_ = false;
    bool eof_ = false;           // the origin closed its side
    core::Instant started_at_{}; // the worker's now() at start()
};

} // namespace lacquer::origin
