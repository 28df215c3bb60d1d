#include "lacquer/proxy/cache_fill.h"

#include "lacquer/cache/freshness.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/vary.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/http/headers.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "not_modified.h"

#include <array>

namespace lacquer::proxy {

namespace {

// Freed to malloc, a fill's large chunk became a hole that the objects stored meanwhile were
// carved from, each leaving a remainder too small for them and for the small allocations
// (which tcache serves): ~100 bytes of RSS per stored object (perf/memory.sh). Kept here for
// the thread's next fill instead, their memory never mixes with the objects'.
class SpareFills {
public:
    static constexpr std::size_t kMax = 16; // about the fills a worker has in flight at once

    ~SpareFills() {
        for (std::size_t i = 0; i < count_; ++i) {
            ::operator delete(spare_[i]);
        }
    }
    void* take() { return count_ > 0 ? spare_[--count_] : nullptr; }
    bool keep(void* memory) {
        if (count_ == kMax) {
            return false;
        }
        spare_[count_++] = memory;
        return true;
    }

private:
    std::array<void*, kMax> spare_{};
    std::size_t count_ = 0;
};

thread_local SpareFills spare_fills;

} // namespace

void* CacheFill::operator new(std::size_t size) {
    void* memory = size == sizeof(CacheFill) ? spare_fills.take() : nullptr;
    return memory != nullptr ? memory : ::operator new(size);
}

void CacheFill::operator delete(void* memory, std::size_t size) {
    if (size != sizeof(CacheFill) || !spare_fills.keep(memory)) {
        ::operator delete(memory);
    }
}

CacheFill* CacheFill::create(WorkerContext& ctx, Params params) {
    auto* fill = new CacheFill(ctx, std::move(params));
    fill->next_ = ctx.fills;
    if (ctx.fills != nullptr) {
        ctx.fills->prev_ = fill;
    }
    ctx.fills = fill;
    return fill;
}

CacheFill::CacheFill(WorkerContext& ctx, Params params)
    : ctx_(ctx), gen_(*params.generation), route_(*params.route),
      request_parser_(http::HeadKind::Request, ctx.head_limits()),
      fetch_(ctx.worker, *this,
             http::HeadLimits{ctx.head_limits().max_head_bytes, ctx.head_limits().max_head_bytes}),
      revalidating_(std::move(params.revalidating)), client_(params.client), fwd_(params.fwd),
      leads_(params.leads), refresh_(params.refresh) {
    ++gen_.users; // released in the destructor
    // Buffers given back by earlier fills (core/spare_strings.h): a miss allocates none.
    core::assign_string(key_, params.key->canonical);
    core::assign_string(url_, params.key->url);
    core::assign_string(request_, params.request);
    built_ = *params.key;
    built_.canonical = key_;
    built_.url = url_;
    built_.upstream_target = {};
    // Our own request bytes, parsed: storability and Vary read the headers the origin got.
    [[maybe_unused]] const auto parsed = request_parser_.feed(request_.data(), request_.size());
}

void CacheFill::begin() {
    sent_at_ = ctx_.worker.now(); // request_time of RFC 9111 §4.2.3
    fetch_.start(gen_.pool(route_.pool), request_, "GET", false, built_.hash);
}

CacheFill::~CacheFill() {
    if (!told_) {
        tell_waiters({cache::FillOutcome::Failed, {}, 502, {}}); // never leave a waiter hanging
    }
    fetch_.cancel();
    ctx_.release(gen_);
    unlink();
    for (std::string* s : {&key_, &url_, &request_, &vary_}) {
        core::give_string(*s);
    }
}

void CacheFill::unlink() {
    if (prev_ != nullptr) {
        prev_->next_ = next_;
    } else if (ctx_.fills == this) {
        ctx_.fills = next_;
    }
    if (next_ != nullptr) {
        next_->prev_ = prev_;
    }
    prev_ = next_ = nullptr;
}

void CacheFill::end() {
    if (ended_) {
        return;
    }
    ended_ = true;
    client_ = nullptr;
    fetch_.cancel();
    // Off the list of running fills now: the graveyard owns it, and a shutdown that deletes
    // the running fills must not delete it a second time.
    unlink();
    ctx_.worker.dispose(std::unique_ptr<net::Disposable>(this));
}

void CacheFill::tell_waiters(const cache::FillResult& result) {
    if (told_) {
        return;
    }
    told_ = true;
    if (leads_) {
        ctx_.coalescer->finish(cache::StoreKey{built_.hash, built_.url_hash, key_}, result,
                               ctx_.worker.now(), route_.cache->hit_for_miss, refresh_);
    }
}

void CacheFill::detach_client() {
    client_ = nullptr;
    if (head_seen_ && !builder_.active() && !revalidating_) {
        // Nothing will be stored: finishing the transfer would only load the origin.
        tell_waiters({cache::FillOutcome::Uncacheable, {}, 0, {}});
        end();
        return;
    }
    fetch_.resume_body(); // the client's backpressure no longer applies
}

void CacheFill::fetch_head(origin::OriginFetch& fetch) {
    head_seen_ = true;
    const http::ResponseHead& resp = fetch.response();
    if (revalidating_ && resp.status == 304) {
        status_ = CacheStatusField();
        status_.fwd = "stale";
        status_.fwd_status = 304;
        return; // renewed in fetch_done, once the exchange is complete
    }
    revalidating_ = cache::ObjectRef(); // a full answer replaces the object
    decide(resp);
    if (builder_.active() && leads_) {
        // Waiters share the body as it arrives instead of waiting for the whole of it.
        ctx_.coalescer->publish(cache::StoreKey{built_.hash, built_.url_hash, key_},
                                builder_.stream());
    }
    if (!builder_.active()) {
        // Waiters need not wait for a body they cannot share: they fetch on their own now.
        tell_waiters(resp.status >= 500
                         ? cache::FillResult{cache::FillOutcome::Failed, {}, resp.status, {}}
                         : cache::FillResult{cache::FillOutcome::Uncacheable, {}, 0, {}});
        if (client_ == nullptr) {
            end();
            return;
        }
    }
    if (client_ != nullptr) {
        client_->fetch_head(fetch);
    }
}

void CacheFill::fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) {
    const bool storing = builder_.active();
    builder_.take(from, n); // copies; no-op unless storing
    if (storing && !builder_.active()) {
        count_not_stored(builder_.verdict()); // grew past max_object_size
    }
    if (client_ != nullptr) {
        client_->fetch_body(fetch, from, n);
        return;
    }
    from.drain(n);
    if (!builder_.active()) {
        tell_waiters({cache::FillOutcome::Uncacheable, {}, 0, {}}); // grew past max_object_size
        end();
    }
}

void CacheFill::fetch_done(origin::OriginFetch& fetch) {
    cache::ObjectRef stored;
    if (revalidating_ && !not_modified_matches(fetch.response().headers, *revalidating_)) {
        // A 304 for another representation than the stored one (RFC 9111 §4.3.4) updates
        // nothing: the whole answer is asked for instead, as a miss would be.
        revalidating_ = cache::ObjectRef();
        head_seen_ = false;
        request_ = without_validators(request_);
        request_parser_.reset();
        [[maybe_unused]] const auto parsed = request_parser_.feed(request_.data(), request_.size());
        begin(); // the exchange that just ended is over: its connection is back in the pool
        return;
    }
    if (revalidating_) {
        stored = renew(fetch.response());
    } else if (builder_.active()) {
        stored = builder_.finish();
    }
    if (stored) {
        ctx_.store->insert(stored); // complete: now every worker may serve it
        tell_waiters({cache::FillOutcome::Stored, stored, 0, {}});
    } else if (renewed_) {
        // A 304 the origin does not let us keep still answers the requests waiting for it.
        tell_waiters({cache::FillOutcome::Stored, renewed_, 0, {}});
    } else {
        tell_waiters({cache::FillOutcome::Uncacheable, {}, 0, {}});
    }
    origin::FetchObserver* client = client_;
    end();
    if (client != nullptr) {
        client->fetch_done(fetch);
    }
}

void CacheFill::fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                             bool head_delivered) {
    if (builder_.active()) {
        builder_.abandon(cache::StoreVerdict::Incomplete); // never a partial object in the cache
        count_not_stored(cache::StoreVerdict::Incomplete);
    }
    // Waiters on a fill the origin pool's admission refused come back in a second, as its
    // client does (RequestFsm::step_origin_failed).
    tell_waiters({cache::FillOutcome::Failed,
                  {},
                  origin::fetch_fault_status(fault),
                  {},
                  origin::is_admission_fault(fault) ? 1u : 0u});
    origin::FetchObserver* client = client_;
    end();
    if (client != nullptr) {
        client->fetch_failed(fetch, fault, head_delivered);
    }
}

void CacheFill::count_not_stored(cache::StoreVerdict why) const {
    if (const ProxyMetrics* m = ctx_.metrics()) {
        ctx_.count(m->not_stored[static_cast<std::size_t>(why)]);
    }
}

void CacheFill::decide(const http::ResponseHead& response) {
    const RouteCache& rc = *route_.cache;
    const std::int64_t now_unix = ctx_.worker.unix_now();
    cache::StoreDecision decision = cache::decide_storage(
        request_parser_.request(), "GET", response, rc.freshness, now_unix,
        std::chrono::duration_cast<core::Millis>(ctx_.worker.now() - sent_at_));
    if (decision.storable() && !vary_spec(response)) {
        decision.verdict = cache::StoreVerdict::Vary;
    }
    if (decision.storable()) {
        const http::Header* tags =
            rc.tags_header.empty() ? nullptr : response.headers.find(rc.tags_header);
        builder_.begin(built_, vary_, tags != nullptr ? tags->value : std::string_view(), response,
                       rc.removed_fields, decision, ctx_.worker.now(), now_unix,
                       gen_.config().storage.max_object_size);
        decision.verdict = builder_.verdict();
    }
    if (!decision.storable()) {
        count_not_stored(decision.verdict);
    }
    status_ = CacheStatusField();
    status_.fwd = fwd_;
    status_.stored = builder_.active();
    status_.detail =
        decision.storable() ? std::string_view() : cache::store_verdict_name(decision.verdict);
}

bool CacheFill::vary_spec(const http::ResponseHead& response) {
    // The secondary key: the values the request had of the headers the response varies on.
    // Headers the origin never receives cannot change its answer and variant headers are in the
    // key already, so neither is recorded (lookups compare the same set).
    constexpr std::size_t kMaxVarySpec = 4096;
    vary_.clear();
    for (const http::Header& h : response.headers) {
        if (!http::iequals(h.name, "Vary")) {
            continue;
        }
        http::for_each_token(h.value, [&](std::string_view name) {
            if (route_.cache->origin_receives(name)) {
                cache::append_vary_entry(vary_, name, request_parser_.request().headers);
            }
        });
    }
    return vary_.size() <= kMaxVarySpec;
}

cache::ObjectRef CacheFill::renew(const http::ResponseHead& not_modified) {
    // The 304's freshness information applies to the stored answer (RFC 9111 §4.3.4).
    const cache::StoredObject& old = *revalidating_;
    Freshened freshened =
        freshen(old, not_modified, request_parser_.request(), route_.cache->freshness,
                ctx_.worker.now(), ctx_.worker.unix_now(), ctx_.head_limits());
    status_.stored = freshened.storable;
    renewed_ = std::move(freshened.object); // the answer of the request that revalidated
    if (!freshened.storable) {
        ctx_.store->remove(old.store_key()); // the origin no longer allows keeping it
        return {};
    }
    return renewed_;
}

} // namespace lacquer::proxy
