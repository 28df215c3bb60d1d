#pragma once
// One client connection and the requests on it, one at a time and answered in order
// (pipelined requests wait in the input buffer). Connection states:
//   ReadingHead -> [ReadingBody ->] Forwarding -> (ReadingHead | Closing -> Lingering) -> Closed
// A request body is read whole before the origin is asked (request_body.h), within
// client_body_timeout between reads and client_request_timeout for the whole request, so a slow
// client never holds an origin connection. Response bodies stream to the client without being
// held whole: the origin side stops reading while the client's output is above its mark.
// Thread: its worker's only. Ends itself through Worker::dispose().

#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/http/request_target.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"
#include "lacquer/origin/origin_fetch.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/request_body.h"
#include "lacquer/proxy/worker_context.h"

#include <array>
#include <memory>
#include <string>

namespace lacquer::proxy {

class SessionWaiter;

class ClientSession final : public net::Disposable,
                            private net::ConnectionHandler,
                            private origin::FetchObserver {
public:
    // Takes an accepted socket. The session lives until the connection ends.
    static void start(WorkerContext& context, int fd, const sockaddr* peer);
    ~ClientSession() override;
    friend class SessionWaiter;
    ClientSession* next_session() const { return next_; }
    // Graceful shutdown: close now if idle, else after the request in flight.
    void drain();

private:
    enum class State : std::uint8_t {
        ReadingHead,
        ReadingBody,
        Forwarding,
        Closing,
        Lingering,
        Closed
    };
    // How the response body goes to the client.
    enum class ClientBody : std::uint8_t { None, Raw, Chunked };
    // Response bytes queued for the client beyond which the origin side (or a stream) pauses.
    static constexpr std::size_t kClientHighMark = 512 * 1024;
    // scratch_ capacity kept between requests (a hit's head lines fit).
    static constexpr std::size_t kKeptScratch = 1024;

    ClientSession(WorkerContext& context);
    void link();
    void unlink();

    // Connection FSM
    void on_readable(net::Connection& conn) override;
    void on_drained(net::Connection& conn) override;
    void on_event(net::Connection& conn, net::ConnEvent event) override;
    static void on_timer(void* arg);
    void process_input();
    void dispatch();
    // The request-target read once (normalised path, authority) for everything after it.
    http::TargetOutcome read_target(http::RequestTarget& target);
    // The host the request is routed, keyed and sent upstream under; empty: refused (400).
    std::string_view request_authority(const http::RequestTarget& target) const;
    // Sends the request (head, and the body read whole) to the origin or the cache.
    void forward_request();
    // The request body (request_body.cc): read whole first, then sent after the head.
    void read_body_first();
    void read_body(); // what has arrived; forward_request() once the whole body is here
    void send_request_body();
    void finish_response();
    void next_request();
    // The connection goes idle: what only a request needs is given back (~2.5 KiB stay).
    void release_request_buffers();
    void answer_and_close(int status);
    // Part of the answer is out and the rest will not come: what is queued still goes (the
    // head and the body so far), then FIN without a proper end of body, so the client sees a
    // truncated response, never a complete-looking one and never a bare close.
    void end_unfinished(int status);
    void answer_inline(int status); // a short answer; the connection goes on when it can
    void close_after_flush();
    void close_now();
    void log_request(int status);
    void release_generation();

    // The cache (cache_session.cc)
    // Builds the key and looks it up; true when the request has been answered. Otherwise
    // forward_ says what to send and cache_fetch_ whether the answer may be stored.
    bool serve_from_cache(const Route& route, std::string_view host, std::string_view target);
    void set_variant_headers(const RouteCache& rc, const cache::BuiltKey* key);
    // For an unsafe method: the URL whose stored answers a success will invalidate (key_.url,
    // built as a GET of the same target would be keyed).
    void prepare_invalidation(std::string_view host, std::string_view target);
    // PURGE on the client listener (admin.purge_from): removes every stored variant of the URL
    // for that host and answers {"purged": N}; 403 from other addresses.
    void answer_purge(std::string_view host, std::string_view target);
    bool forwards_credentials() const;
    void answer_from_object(const cache::StoredObject& object, CacheStatusField field);
    // A cacheable miss: lead the key's fetch, wait for the leader, or (hit-for-miss, a wait
    // that timed out) fetch alone. scratch_ holds the upstream request.
    void fetch_for_cache(const Route& route);
    CacheFill::Params fill_params(const Route& route);
    void start_fill(const Route& route, bool leads);
    void start_refresh(const Route& route, const cache::ObjectRef& object);
    // Sharing another request's fetch (shared_fetch.cc)
    void on_fill_result(const cache::FillResult& result); // the leader's answer, on our thread
    void answer_fill_failure(int error_status);
    static CacheStatusField collapsed_status();
    // Answers from the leader's body as it arrives; pump_stream() sends what has arrived.
    void follow_stream(cache::StreamRef stream);
    void pump_stream();
    void stop_streaming(); // idempotent
    void on_wait_timeout();
    void stop_waiting(); // forget the wait (idempotent)
    origin::OriginFetch& active_fetch();

    // Origin side
    void fetch_head(origin::OriginFetch& fetch) override;
    void fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) override;
    void fetch_done(origin::OriginFetch& fetch) override;
    void fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                      bool head_delivered) override;
    void fetch_upstream_drained(origin::OriginFetch& fetch) override;

    WorkerContext& ctx_;
    WorkerGeneration* gen_ = nullptr; // the config the request in flight runs on
    std::unique_ptr<net::Connection> conn_;
    http::HeadParser parser_;
    RequestBody body_;
    origin::OriginFetch fetch_;
    net::Timer timer_;
    std::string scratch_;       // heads written here; capacity reused from request to request
    core::Block target_buffer_; // a normalised target, when the path needed rewriting
    std::size_t target_capacity_ = 0;
    // The cache side of the request in flight
    cache::KeyBuffer key_buffer_;
    cache::BuiltKey key_;
    http::ForwardedRequest forward_;
    // The variants' headers, their rewritten source headers, then the validators of a refresh.
    // (A spare block taken by the first request that sets one, given back when idle.)
    core::SpareArray<http::Header, 2 * cache::kMaxKeyVariants + 2> variant_headers_;
    cache::ObjectRef stale_;    // an expired object that may still answer if the origin fails
    CacheFill* fill_ = nullptr; // the cache fill this request streams from
    std::shared_ptr<SessionWaiter> waiter_; // set while waiting for another's fill
    cache::StreamRef stream_;               // the leader's body this request answers from
    cache::BodyStream::Cursor stream_cursor_;
    std::shared_ptr<SessionWaiter> stream_watcher_;
    bool stream_body_ = false; // the answer's body follows the stream (else: the object)
    CacheStatusField status_field_;
    bool cache_fetch_ = false; // the origin's answer may be stored
    bool invalidate_ = false;  // a non-error answer removes key_.url's objects (RFC 9111 §4.4)
    State state_ = State::ReadingHead;
    // The request in flight
    core::Instant head_start_{};    // its first byte: client_request_timeout counts from here
    core::Instant body_deadline_{}; // head_start_ + client_request_timeout
    bool request_body_done_ = true; // read whole (or there is none)
    bool keep_alive_ = true;
    bool http10_ = false;
    bool head_request_ = false;
    // Its response
    ClientBody client_body_ = ClientBody::None;
    bool close_delimited_ = false; // the answer's body ends where the connection does
    bool reset_at_close_ = false;  // end with a reset: a close-delimited answer was cut
    bool response_started_ = false;
    bool response_done_ = false;
    bool in_process_ = false;
    bool counted_ = false;
    // What the access log reports about the request in flight
    const Route* route_ = nullptr;
    CacheStatus cache_status_ = CacheStatus::Pass;
    core::Instant request_start_{};
    core::Instant origin_start_{};
    core::Instant origin_end_{};
    std::uint64_t body_bytes_ = 0;
    bool dispatched_ = false; // a request is in flight and not logged yet
    ClientSession* prev_ = nullptr;
    ClientSession* next_ = nullptr;
    bool linked_ = false;
};

} // namespace lacquer::proxy
