#pragma once
// One client request's way through the proxy, as an explicit state machine in the spirit of
// Varnish's cache_req_fsm.c. The steps are one list (LACQUER_REQUEST_STEPS); each is a function
// of the request that sets the next step and says how to go on (Continue, Park until an event,
// Finished); run() is the only loop. Events (the body read, an origin head, a fill's result, a
// timer, the client's output drained) store what they brought and call resume(): they never
// decide. Every request keeps a ring of (step, time) for the access log and for debugging.
// The request reaches its client only through ClientSide and never sees a socket.
// Thread: its worker's only. One RequestFsm per connection, reused for each request on it.

#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/core/clock.h"
#include "lacquer/core/spare_blocks.h"
#include "lacquer/http/request_target.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/timer.h"
#include "lacquer/origin/origin_fetch.h"
#include "lacquer/proxy/access_log.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/client_side.h"
#include "lacquer/proxy/request_trace.h"
#include "lacquer/proxy/worker_context.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace lacquer::proxy {

class CacheFill;
class RequestWaiter; // request_waiter.h

// The steps, in the order a request usually meets them.
#define LACQUER_REQUEST_STEPS(X)                                                                   \
    X(Recv)       /* read the target and its authority; refuse what cannot be served */            \
    X(Route)      /* choose the route: purge, reject, cache or pass */                             \
    X(ReadBody)   /* the body is read whole before the origin is asked (parks) */                  \
    X(Lookup)     /* build the key and look it up: hit, stale, or a fetch */                       \
    X(Revalidate) /* expired, not servable stale, has validators: a conditional fetch */           \
    X(Fetch)      /* lead the key's fill, wait for another's, or fetch alone */                    \
    X(Wait)       /* parked on another request's fill of the key */                                \
    X(Pass)       /* forward without the cache */                                                  \
    X(Relay)      /* the origin's answer goes to the client as it arrives (parks) */               \
    X(Stream)     /* the leader's body goes to the client as it arrives (parks) */                 \
    X(Assemble)   /* range/conditional miss: answered from the stored object once whole (parks) */ \
    X(OriginFailed) /* the origin failed: stale-if-error, an error, or a cut answer */             \
    X(Deliver)      /* answer from a stored object */                                              \
    X(Synth)        /* an answer made by the proxy itself */                                       \
    X(Done)         /* over: logged, counted, handed back to the connection */

enum class Step : std::uint8_t {
#define LACQUER_AS_ENUM(name) name,
    LACQUER_REQUEST_STEPS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view step_name(Step step);

enum class Next : std::uint8_t {
    Continue, // the step set the next one: run it now
    Park,     // waiting for an event; resume() comes back to the current step
    Finished, // the answer is handed to the client (or cut): the request ends
};

// The last steps of a request with the time each began (a ring: the newest kStepsKept). Each
// keeps its time as microseconds after the request's first step (8 bytes a step, in every
// connection's object: perf/connmem.sh).
class StepHistory {
public:
    static constexpr std::size_t kStepsKept = 16;
    struct Entry {
        Step step = Step::Done;
        core::Instant at{};
    };
    void clear() { count_ = 0; }
    void record(Step step, core::Instant at) {
        if (count_ == 0) {
            first_ = at;
        }
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at - first_).count();
        entries_[count_++ % kStepsKept] = {
            step, static_cast<std::uint32_t>(
                      std::clamp<std::int64_t>(us, 0, std::numeric_limits<std::uint32_t>::max()))};
    }
    std::size_t size() const { return count_ < kStepsKept ? count_ : kStepsKept; }
    std::size_t total() const { return count_; } // steps run, kept or not
    // i = 0 is the oldest kept.
    Entry at(std::size_t i) const {
        const Packed& p = entries_[(count_ - size() + i) % kStepsKept];
        return {p.step, first_ + std::chrono::microseconds(p.us)};
    }
    // The kept steps, oldest first, each with the milliseconds since the oldest one:
    // "Recv:0.000 Route:0.002 Lookup:0.004 Deliver:0.011 Done:0.019".
    void append_trace(std::string& out) const;

private:
    struct Packed {
        Step step = Step::Done;
        std::uint32_t us = 0; // after first_ (71 minutes at most)
    };
    std::array<Packed, kStepsKept> entries_{};
    core::Instant first_{};
    std::size_t count_ = 0;
};

class RequestFsm final : private origin::FetchObserver {
public:
    RequestFsm(WorkerContext& ctx, ClientSide& client);
    ~RequestFsm();
    RequestFsm(const RequestFsm&) = delete;
    RequestFsm& operator=(const RequestFsm&) = delete;

    // A head has been parsed: the request runs on the current generation (held until it
    // ends) from Recv until it parks or finishes.
    void start();
    // Events from the client's side.
    void body_complete();  // ReadBody is over: the whole body is in ClientSide::body()
    void client_drained(); // the answer's queued bytes fell below the mark: send more
    // The connection ended the request itself: the client went away (499, or the status
    // already sent when the answer had started, as nginx logs it), or the connection answered
    // an error while reading the body (`status`). Every wait, stream and fetch of the request
    // is cancelled (a fill goes on for the cache); logged once, with `term`.
    void cancel(int status, Termination term);
    // A request refused before it could start (a bad head, a head timeout, a head cut by the
    // client or by shutdown): logged once.
    void log_refused(int status, Termination term);
    // The connection closes after this request (shutdown): its answer says so if it can.
    void last_on_connection();
    // The process stops past limits.drain_timeout: a request still running is logged as cut
    // (stderr and the access log, status 503) and cancelled. session_shutdown.cc.
    void cut_at_shutdown();

    // Between requests: what only a request needs goes back to the thread's spares (the key
    // buffer, the target buffer, the variants' headers, the pass fetch's parser, a large
    // scratch head). Not while active().
    void release_buffers();

    bool active() const { return active_; }
    bool response_started() const { return response_started_; }
    const StepHistory& history() const { return history_; }

private:
    friend class RequestWaiter; // request_waiter.h
    // How the answer's body goes to the client.
    enum class ClientBody : std::uint8_t { None, Raw, Chunked };
    // Answer bytes queued for the client beyond which the origin side (or a stream) pauses.
    static constexpr std::size_t kClientHighMark = 512 * 1024;

    // ---- the driver and the steps (request_fsm.cc) ----
    void resume(); // an event arrived: run from the current step
    void run();
    Next dispatch();
    Next step_recv();
    Next step_route();
    Next step_read_body();
    Next step_lookup();
    Next step_revalidate();
    Next step_fetch();
    Next step_wait();
    Next step_pass();
    Next step_relay();
    Next step_stream();
    Next step_assemble();
    Next step_origin_failed();
    Next step_deliver();
    Next step_synth();
    void finish(); // Done: log, count, release, hand the connection back
    Next go(Step next) {
        step_ = next;
        return Next::Continue;
    }
    Next synth(int status, bool close = false, std::uint32_t retry_after = 0);
    // stale-if-error, decided here only: a stored object that may stand in for an origin
    // failure of `fwd_status` (5xx or the fault's status) becomes the answer.
    bool take_stale_for_error(int fwd_status);
    void stop_everything(); // waits, streams, fills and fetches of the request end

    // ---- the cache (request_cache.cc) ----
    http::TargetOutcome read_target();
    std::string_view authority() const;
    // The key of the request; an outcome other than Ok is answered by the caller.
    cache::KeyOutcome build_key(const RouteCache& rc);
    void set_variant_headers(const RouteCache& rc, const cache::BuiltKey* key);
    // The request id and trace headers (trace_) join forward_.set_headers, once
    // (request_trace.cc's caller: request_answer.cc).
    void add_trace_headers();
    // True when the request carries `name` (Cookie, Authorization) and a fetch would send it.
    bool forwards_credential(std::string_view name) const;
    Next pass_with_credentials(); // to the origin as sent, never stored
    void prepare_invalidation();
    Next answer_purge(); // PURGE on the client port (admin.purge_from)
    void start_fill(bool leads);
    void start_refresh(const cache::ObjectRef& object);
    // The conditional headers of a revalidation of `object` (RFC 9111 §4.3.1), after the
    // variants' headers in forward_.set_headers.
    void add_validators(const cache::StoredObject& object);

    // ---- the origin side (request_relay.cc) ----
    void forward(); // serialise the upstream request into scratch_
    void write_origin_head(const http::ResponseHead& resp);
    void send_request_body();
    origin::OriginFetch& active_fetch();
    void fetch_head(origin::OriginFetch& fetch) override;
    void fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) override;
    void fetch_done(origin::OriginFetch& fetch) override;
    void fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                      bool head_delivered) override;
    void fetch_upstream_drained(origin::OriginFetch& fetch) override;
    void fetch_interim(origin::OriginFetch& fetch) override;
    void fetch_body_wanted(origin::OriginFetch& fetch) override;

    // ---- another request's fill (request_stream.cc) ----
    void join_fill();
    void on_fill_result(const cache::FillResult& result);
    static void on_wait_timeout(void* arg);
    void write_stream_head();
    void pump_stream();
    void stop_streaming();
    // A range or conditional request that leads a fill storing a whole 200 of known length
    // stops relaying it and waits for the stored object (Assemble), which answers it with its
    // range (206), a 304 or the 200. False: relay as usual.
    bool leave_fill_for_object(const http::ResponseHead& response);
    void stop_waiting();

    // ---- answers ----
    void deliver(const cache::StoredObject& object, CacheStatusField field);
    // A waiter's Cache-Status: collapsed, and fwd as its lookup found the key (uri-miss, or
    // stale: an expired object that the leader revalidates or refetches).
    CacheStatusField collapsed_status() const;
    void log(int status);
    // The request's record into the worker's transaction ring (transaction_capture.cc); only
    // while someone watches the transaction log.
    void record_transaction(int status);
    std::string_view host_of_log(const http::RequestHead& req) const;

    WorkerContext& ctx_;
    ClientSide& client_;
    WorkerGeneration* gen_ = nullptr; // the config the request runs on
    Step step_ = Step::Done;
    StepHistory history_;
    bool active_ = false;
    bool in_run_ = false;  // run() is on the stack: resume() only marks
    bool resumed_ = false; // an event arrived during run()
    net::Timer wait_timer_;
    origin::OriginFetch fetch_; // a pass, or nothing (cache fetches are CacheFills)
    std::string scratch_;       // heads written here; capacity reused from request to request
    // scratch_'s capacity at a request's start; an idle connection gives it back.
    static constexpr std::size_t kKeptScratch = 1024;
    // The request's one reading of its target and authority.
    http::RequestTarget target_;
    core::Block target_buffer_; // a normalised target, when the path needed rewriting
    std::size_t target_capacity_ = 0;
    std::string_view host_;
    const Route* route_ = nullptr;
    // The cache side
    cache::KeyBuffer key_buffer_;
    cache::BuiltKey key_;
    http::ForwardedRequest forward_;
    // The variants' headers, their rewritten source headers, then the validators of a refresh.
    // (A spare block taken by the first request that sets one, given back when idle.)
    // Then the request id and trace context (3).
    core::SpareArray<http::Header, 2 * cache::kMaxKeyVariants + 2 + 3> variant_headers_;
    cache::ObjectRef stale_;      // an expired object that may still answer if the origin fails
    cache::ObjectRef object_;     // what Deliver answers from
    cache::ObjectRef revalidate_; // the expired object a conditional fetch asks about
    int interim_sent_ = 0;        // 1xx responses passed to the client (RFC 9110 §15.2)
    CacheStatusField delivery_;
    int synth_status_ = 0;
    bool synth_close_ = false;
    std::uint32_t synth_retry_after_ = 0; // seconds; 0: no Retry-After
    bool cache_fetch_ = false;            // the origin's answer may be stored
    bool invalidate_ = false;   // a non-error answer removes key_.url's objects (RFC 9111 §4.4)
    CacheFill* fill_ = nullptr; // the fill this request relays
    std::shared_ptr<RequestWaiter> waiter_; // set while waiting for another's fill
    cache::FillResult fill_result_;         // what the wait brought
    bool fill_result_in_ = false;
    bool wait_timed_out_ = false;
    cache::StreamRef stream_; // the leader's body this request answers from
    cache::BodyStream::Cursor stream_cursor_;
    std::shared_ptr<RequestWaiter> stream_watcher_;
    bool stream_body_ = false; // the answer's body follows the stream (else: the object)
    bool stream_started_ = false;
    bool stream_done_ = false;   // every byte of a complete stream is queued for the client
    bool stream_failed_ = false; // the leader's fetch failed mid-body
    bool body_asked_ = false;    // ClientSide::read_body() was called
    bool body_in_ = false;       // ... and the whole body is here
    // The origin's answer as it arrives (Relay)
    const http::ResponseHead* origin_head_ = nullptr; // set by fetch_head(), valid until done
    bool relay_done_ = false;
    origin::FetchFault fault_ = origin::FetchFault::None;
    bool fault_after_head_ = false;
    bool body_send_failed_ = false; // the spilled request body could not be read back
    // The answer
    CacheStatusField status_field_;
    CacheStatus cache_status_ = CacheStatus::Pass;
    ClientBody client_body_ = ClientBody::None;
    bool keep_alive_ = true;
    bool http10_ = false;
    bool head_request_ = false;
    bool response_started_ = false;
    bool close_delimited_ = false; // the answer's body ends where the connection does
    bool cut_ = false;             // the answer was started and will not be complete
    int log_status_ = 0;
    bool logged_ = false;
    // What the access log reports
    RequestTrace trace_;
    Termination term_ = Termination::Ok;
    core::Instant request_start_{};
    core::Instant origin_start_{};
    core::Instant origin_end_{};
    core::Instant origin_head_at_{}; // the origin's answer head arrived (transaction log)
    std::string_view origin_server_; // the origin server that answered; empty: none
    std::uint64_t body_bytes_ = 0;
};

} // namespace lacquer::proxy
