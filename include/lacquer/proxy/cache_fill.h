#pragma once
// One origin fetch that fills the cache for a key. It belongs to the cache entry, not to the
// client that caused it: the client (if any) receives the response as it streams, and when the
// client goes away the fill goes on alone as long as its answer will be stored. When it ends it
// tells the Coalescer (if it leads the key), which wakes the requests waiting for it.
// A fill may revalidate a stored object (conditional request): a background refresh (no
// client), or a foreground one (an expired object that may not be served stale); a 304 renews
// that object's freshness without a body, and the renewed object answers the client and waiters.
// Thread: its worker's only. Owns itself; ends through Worker::dispose().

#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/net/worker.h"
#include "lacquer/origin/origin_fetch.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/object_builder.h"
#include "lacquer/proxy/worker_context.h"

#include <string>
#include <string_view>

namespace lacquer::proxy {

class CacheFill final : public net::Disposable, private origin::FetchObserver {
public:
    struct Params {
        WorkerGeneration* generation = nullptr; // the route's; held until the fill ends
        const Route* route = nullptr;           // a caching route
        const cache::BuiltKey* key = nullptr;
        std::string_view request;                // the serialised upstream request: GET, no body
        origin::FetchObserver* client = nullptr; // nullptr: nobody waits on this connection
        bool leads = false;                      // the Coalescer made this fill the key's leader
        bool refresh = false;                    // a background refresh (for the backoff)
        cache::ObjectRef revalidating;           // the stored object the request has validators of
        std::string_view fwd = "uri-miss";       // Cache-Status fwd: uri-miss, or stale (a literal)
    };

    // Creates the fill and links it into the worker's list; begin() starts it. Two steps, so
    // that a client can hold the pointer before any callback (start may fail at once).
    static CacheFill* create(WorkerContext& ctx, Params params);
    void begin();

    // The client is gone or answered otherwise: the fill goes on alone only if it is storing.
    void detach_client();
    origin::OriginFetch& fetch() { return fetch_; }
    // The Cache-Status of the answer as far as known when the head arrived.
    const CacheStatusField& cache_status() const { return status_; }
    // After a 304 to a revalidation (RFC 9111 §4.3.4): the stored response it freshened, which
    // answers the client (also when the 304 did not let it be stored). Valid in fetch_done().
    const cache::ObjectRef& renewed() const { return renewed_; }
    // The whole answer is being stored and its length is known (Content-Length): a range
    // request can wait for the stored object instead of relaying the origin's 200.
    bool storing_known_length() const {
        return builder_.active() && builder_.stream() && builder_.stream()->length_known();
    }
    const cache::StreamRef& stream() const { return builder_.stream(); } // while storing

    ~CacheFill() override;
    CacheFill* next_fill() const { return next_; }

    // Fills come and go with every miss, ~9 KiB each: each thread keeps a few freed ones for
    // the next misses (cache_fill.cc says why).
    static void* operator new(std::size_t size);
    static void operator delete(void* memory, std::size_t size);

private:
    CacheFill(WorkerContext& ctx, Params params);

    // A 1xx goes only to the client whose request caused the fetch (if it is still there),
    // never to the requests waiting on the key, and is never stored (RFC 9110 §15.2).
    void fetch_interim(origin::OriginFetch& fetch) override {
        if (client_ != nullptr) {
            client_->fetch_interim(fetch);
        }
    }
    void fetch_head(origin::OriginFetch& fetch) override;
    void fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) override;
    void fetch_done(origin::OriginFetch& fetch) override;
    void fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                      bool head_delivered) override;
    void fetch_upstream_drained(origin::OriginFetch&) override {}

    void decide(const http::ResponseHead& response);
    void count_not_stored(cache::StoreVerdict why) const;
    bool vary_spec(const http::ResponseHead& response);
    cache::ObjectRef renew(const http::ResponseHead& not_modified); // the 304 case of fetch_done
    void tell_waiters(const cache::FillResult& result);
    void end();
    void unlink(); // from the worker's list of running fills (idempotent)

    WorkerContext& ctx_;
    WorkerGeneration& gen_;
    const Route& route_;
    std::string key_;
    std::string url_;
    cache::BuiltKey built_; // views into key_ and url_
    std::string request_;
    http::HeadParser request_parser_; // request_ parsed: the headers the origin received
    origin::OriginFetch fetch_;
    ObjectBuilder builder_;
    std::string vary_;
    cache::ObjectRef revalidating_;
    core::Instant sent_at_{}; // when the request went to the origin
    cache::ObjectRef renewed_;
    origin::FetchObserver* client_;
    CacheStatusField status_;
    std::string_view fwd_;
    bool leads_;
    bool refresh_;
    bool head_seen_ = false;
    bool told_ = false;  // the Coalescer knows the outcome
    bool ended_ = false; // disposal requested
    CacheFill* prev_ = nullptr;
    CacheFill* next_ = nullptr;
};

} // namespace lacquer::proxy
