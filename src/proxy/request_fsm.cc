// The request state machine: the driver and every step, with each decision made in one place.
// A reader follows a request here from Recv to Done; the effects the steps call (keys and
// lookups, writing an origin's head, streaming a leader's body, delivering an object) are in
// request_cache.cc, request_relay.cc, request_stream.cc and object_delivery.cc; what the
// connection asks of a request between steps (cancel, a refused head's line, buffers back, the
// events that resume it) is in request_connection.cc.
#include "lacquer/proxy/request_fsm.h"

#include "lacquer/cache/freshness.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/vary.h"
#include "lacquer/core/assert.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/net/connection_balancer.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/request_body.h"
#include "object_delivery.h"
#include "request_waiter.h"

namespace lacquer::proxy {

RequestFsm::RequestFsm(WorkerContext& ctx, ClientSide& client)
    : ctx_(ctx), client_(client), wait_timer_(ctx.worker, &RequestFsm::on_wait_timeout, this),
      fetch_(ctx.worker, *this,
             http::HeadLimits{ctx.head_limits().max_head_bytes, ctx.head_limits().max_head_bytes}),
      key_buffer_(static_cast<std::size_t>(ctx.config().limits.max_uri_bytes)) {}

RequestFsm::~RequestFsm() {
    stop_everything();
    if (gen_ != nullptr) {
        ctx_.release(*gen_);
    }
}

// ---- the driver ------------------------------------------------------------------------------

void RequestFsm::start() {
    LACQUER_ASSERT(!active_);
    gen_ = &ctx_.acquire(); // this request runs on the config it starts with
    active_ = true;
    logged_ = false;
    history_.clear();
    if (scratch_.capacity() < kKeptScratch) {
        (void)core::reuse_kept(scratch_, kKeptScratch); // one an idle connection gave back, if any
    }
    const http::RequestHead& req = client_.head();
    request_start_ = ctx_.worker.now();
    origin_start_ = origin_end_ = origin_head_at_ = core::Instant{};
    origin_server_ = {};
    key_ = cache::BuiltKey();
    body_bytes_ = 0;
    term_ = Termination::Ok;
    trace_.begin(req.headers, gen_->config().log); // the id the origin and the log get
    route_ = nullptr;
    cache_status_ = CacheStatus::Pass;
    status_field_ = CacheStatusField();
    status_field_.fwd = "bypass";
    http10_ = req.version_minor == 0;
    head_request_ = req.is_head();
    // Draining: this answer is the last. A worker asked to shed connections (workers: auto,
    // net/worker_governor.h) closes this one after its answer: its client reconnects elsewhere.
    keep_alive_ = req.keep_alive && !ctx_.draining &&
                  !(ctx_.balancer != nullptr && ctx_.balancer->take_shed(ctx_.worker.index()));
    response_started_ = close_delimited_ = cut_ = false;
    client_body_ = ClientBody::None;
    cache_fetch_ = invalidate_ = false;
    stale_ = object_ = revalidate_ = cache::ObjectRef();
    interim_sent_ = 0;
    fill_result_in_ = wait_timed_out_ = false;
    stream_started_ = stream_done_ = stream_failed_ = false;
    body_asked_ = body_in_ = false;
    origin_head_ = nullptr;
    relay_done_ = false;
    fault_ = origin::FetchFault::None;
    fault_after_head_ = false;
    body_send_failed_ = false;
    log_status_ = 0;
    step_ = Step::Recv;
    run();
}

void RequestFsm::resume() {
    if (!active_) {
        return; // a late event for a request that is over
    }
    if (in_run_) {
        resumed_ = true; // the event came from inside a step: the loop goes on after it
        return;
    }
    run();
}

void RequestFsm::run() {
    in_run_ = true;
    for (;;) {
        resumed_ = false;
        history_.record(step_, ctx_.worker.now());
        const Next next = dispatch();
        if (!active_) {
            break; // the connection cancelled the request from inside the step
        }
        if (next == Next::Continue || (next == Next::Park && resumed_)) {
            continue;
        }
        if (next == Next::Finished) {
            in_run_ = false;
            finish(); // the last thing: the connection may start its next request in there
            return;
        }
        break; // parked
    }
    in_run_ = false;
}

Next RequestFsm::dispatch() {
    switch (step_) {
    case Step::Recv:
        return step_recv();
    case Step::Route:
        return step_route();
    case Step::ReadBody:
        return step_read_body();
    case Step::Lookup:
        return step_lookup();
    case Step::Revalidate:
        return step_revalidate();
    case Step::Fetch:
        return step_fetch();
    case Step::Wait:
        return step_wait();
    case Step::Pass:
        return step_pass();
    case Step::Relay:
        return step_relay();
    case Step::Stream:
        return step_stream();
    case Step::Assemble:
        return step_assemble();
    case Step::OriginFailed:
        return step_origin_failed();
    case Step::Deliver:
        return step_deliver();
    case Step::Synth:
        return step_synth();
    case Step::Done:
        break;
    }
    LACQUER_ASSERT(false && "a finished request was run");
    return Next::Park;
}

void RequestFsm::finish() {
    step_ = Step::Done;
    history_.record(Step::Done, ctx_.worker.now());
    if (cut_) { // the answer started and will not be complete
        term_ = body_send_failed_ ? Termination::Internal : Termination::OriginAbort;
    }
    log(log_status_);
    active_ = false;
    ctx_.release(*gen_); // a reload's old generation may go
    gen_ = nullptr;
    // Cut answers end the connection; a request body not read (refused before it) too.
    client_.request_ended(keep_alive_ && !cut_, cut_, cut_ && close_delimited_);
}

void RequestFsm::stop_everything() {
    wait_timer_.cancel();
    stop_waiting();
    stop_streaming();
    if (fill_ != nullptr) {
        fill_->detach_client(); // the fill goes on for the cache and the other waiters
        fill_ = nullptr;
    }
    fetch_.cancel();
}

// ---- the steps -------------------------------------------------------------------------------

Next RequestFsm::step_recv() {
    const http::RequestHead& req = client_.head();
    if (req.method == "CONNECT") {
        return synth(405, true);
    }
    // One reading of the target, and one authority, for the route, the key and the origin.
    switch (read_target()) {
    case http::TargetOutcome::Ok:
        break;
    case http::TargetOutcome::Malformed:
        return synth(400, true);
    case http::TargetOutcome::TooLong:
        return synth(414, true);
    }
    host_ = authority();
    if (host_.empty()) {
        return synth(400, true); // an absolute-form target that disagrees with Host
    }
    if (!ctx_.admin_token.empty() && host_.find(ctx_.admin_token) != std::string_view::npos) {
        return synth(400, true); // the admin token never reaches an origin, not even as a host
    }
    if (req.framing.kind == http::Framing::Kind::Length &&
        req.framing.length > gen_->config().limits.max_body_bytes) {
        return synth(413, true);
    }
    return go(Step::Route);
}

Next RequestFsm::step_route() {
    const http::RequestHead& req = client_.head();
    if (req.method == "PURGE" && !gen_->config().admin.purge_from.empty()) {
        return answer_purge();
    }
    const Route& route = gen_->routes().match(host_without_port(host_), target_.path, req.method);
    route_ = &route;
    if (route.reject) {
        return synth(404);
    }
    forward_ = http::ForwardedRequest();
    forward_.target = target_.origin_form;
    forward_.client_addr = client_.peer_host();
    forward_.secret = ctx_.admin_token; // never forwarded, whatever header carries it
    forward_.host = host_; // the origin gets the authority the request is routed and keyed on
    forward_.allow_underscores = route.allow_underscores;
    const bool has_body = req.framing.kind != http::Framing::Kind::None;
    if (route.cache != nullptr) {
        const RouteCache& rc = *route.cache;
        forward_.allowed_headers = rc.forward_all_headers ? nullptr : &rc.forward_headers;
        forward_.withheld_headers = &rc.withheld_headers;
        if ((req.is_get() || req.is_head()) && !has_body) {
            return go(Step::Lookup);
        }
        set_variant_headers(rc, nullptr); // other methods, and bodies, are passed
    }
    if (!(req.is_get() || req.is_head() || req.method == "OPTIONS" || req.method == "TRACE")) {
        prepare_invalidation();
    }
    return go(has_body ? Step::ReadBody : Step::Pass);
}

Next RequestFsm::step_read_body() {
    if (!body_asked_) {
        body_asked_ = true;
        client_.read_body(); // body_complete() follows, now or later
    }
    if (!body_in_) {
        return Next::Park;
    }
    origin_start_ = ctx_.worker.now(); // the origin's time starts now, not at the head
    return go(Step::Pass);
}

Next RequestFsm::step_lookup() {
    const RouteCache& rc = *route_->cache;
    switch (build_key(rc)) {
    case cache::KeyOutcome::Ok:
        break;
    case cache::KeyOutcome::PassParams:
        forward_.target = key_.upstream_target;
        set_variant_headers(rc, nullptr);
        return go(Step::Pass);
    case cache::KeyOutcome::RejectParams:
    case cache::KeyOutcome::BadEncoding:
        return synth(400);
    case cache::KeyOutcome::TooLarge:
        return synth(414);
    }
    forward_.target = key_.upstream_target; // unkeyed params never reach the origin
    set_variant_headers(rc, &key_);
    // Credentials are judged under the rules of the fetch the answer would be shared from: a
    // named route without forward_headers never sends them, so its answer can be shared.
    forward_.representation_only = rc.representation_only;
    forward_.shared_fetch = true;
    if (forwards_credential("Cookie")) {
        return pass_with_credentials(); // the origin answers for this client's cookies
    }
    // RFC 9111 §3.5: with Authorization, only a stored answer marked public, s-maxage or
    // must-revalidate may be reused; anything else goes to the origin, and is not stored.
    const bool authorization = forwards_credential("Authorization");
    const core::Instant now = ctx_.worker.now();
    if (cache::ObjectRef object = ctx_.store->lookup({key_.hash, key_.url_hash, key_.canonical},
                                                     &client_.head().headers)) {
        const core::Millis resident = object->age_at(now); // a soft purge ages it
        if (authorization && !object->window().reusable_with_authorization) {
            return pass_with_credentials();
        }
        switch (cache::classify(object->window(), resident, cache::OriginHealth::Up)) {
        case cache::Usability::Fresh:
            object_ = std::move(object);
            delivery_ = hit_status();
            return go(Step::Deliver);
        case cache::Usability::StaleRefresh:
            // Inside `stale`: answer now, refresh once in the background.
            count(ctx_, &ProxyMetrics::stale_while_refresh);
            start_refresh(object);
            object_ = std::move(object);
            delivery_ = hit_status();
            delivery_.fwd = "stale";
            return go(Step::Deliver);
        case cache::Usability::StaleIfError:
        case cache::Usability::Unusable:
            break;
        }
        if (!object->etag().empty() || !object->last_modified().empty()) {
            revalidate_ = object; // RFC 9111 §4.3.1: ask whether it changed
        }
        if (cache::classify(object->window(), resident, cache::OriginHealth::Down) ==
            cache::Usability::StaleIfError) {
            stale_ = std::move(object); // answers instead of an origin failure
        }
        status_field_.fwd = "stale";
    } else {
        status_field_.fwd = "uri-miss";
    }
    if (authorization) {
        stale_ = cache::ObjectRef();
        status_field_.fwd = "bypass";
        return pass_with_credentials();
    }
    cache_fetch_ = true;
    forward_.method = "GET"; // a HEAD miss fetches the whole object, so that it can be stored
    return go(revalidate_ ? Step::Revalidate : Step::Fetch);
}

Next RequestFsm::step_fetch() {
    cache_status_ = CacheStatus::Miss;
    origin_start_ = request_start_;
    forward();
    std::shared_ptr<RequestWaiter> waiter = RequestWaiter::make(ctx_.worker, this);
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    switch (ctx_.coalescer->join(key, waiter, ctx_.worker.now())) {
    case cache::Coalescer::Join::Lead:
        waiter->forget_request();
        RequestWaiter::recycle(waiter); // for the next request that waits
        start_fill(true);
        return go(Step::Relay);
    case cache::Coalescer::Join::Wait: {
        waiter_ = std::move(waiter);
        cache_status_ = CacheStatus::Coalesced;
        count(ctx_, &ProxyMetrics::coalesced_waits);
        // Bounded: the route's wait_timeout, else by the time the leader's origin would have
        // timed out; then this request goes alone. The wait ends when the leader's head is in.
        const origin::OriginPoolSpec& spec = gen_->pool(route_->pool).spec();
        const core::Millis bound =
            route_->cache->wait_timeout.count() > 0
                ? route_->cache->wait_timeout
                : spec.connect_timeout + spec.first_byte_timeout + core::Millis(1000);
        wait_timer_.arm(bound);
        return go(Step::Wait);
    }
    case cache::Coalescer::Join::HitForMiss:
        waiter->forget_request();
        RequestWaiter::recycle(waiter);
        cache_status_ = CacheStatus::HitForMiss;
        count(ctx_, &ProxyMetrics::hit_for_miss);
        start_fill(false);
        return go(Step::Relay);
    }
    LACQUER_ASSERT(false && "unknown Coalescer::Join");
    return Next::Park;
}

Next RequestFsm::step_wait() {
    if (wait_timed_out_) {
        wait_timed_out_ = false;
        count(ctx_, &ProxyMetrics::wait_timeouts);
        start_fill(false); // the leader's head did not come in time: fetch alone
        return go(Step::Relay);
    }
    if (!fill_result_in_) {
        return Next::Park;
    }
    fill_result_in_ = false;
    const cache::FillResult result = std::move(fill_result_);
    fill_result_ = cache::FillResult();
    const http::HeaderList& headers = client_.head().headers;
    if (result.outcome == cache::FillOutcome::Streaming && result.stream &&
        cache::vary_matches(result.stream->vary(), &headers)) {
        stream_ = result.stream;
        return go(Step::Stream);
    }
    if (result.outcome == cache::FillOutcome::Stored && result.object &&
        cache::vary_matches(result.object->vary(), &headers)) {
        count(ctx_, &ProxyMetrics::fetches_avoided);
        object_ = result.object;
        delivery_ = collapsed_status();
        return go(Step::Deliver);
    }
    if (result.outcome == cache::FillOutcome::Failed) {
        // The origin just failed for this key: a stale object if allowed, else the error; a
        // failing origin is not asked again by every waiter.
        if (take_stale_for_error(result.error_status)) {
            return go(Step::Deliver);
        }
        cache_status_ = CacheStatus::Error;
        return synth(result.error_status != 0 ? result.error_status : 502, false,
                     result.retry_after);
    }
    // Uncacheable, or another Vary variant than ours: ask the origin ourselves.
    start_fill(false);
    return go(Step::Relay);
}

Next RequestFsm::step_pass() {
    cache_status_ = CacheStatus::Pass;
    if (origin_start_ == core::Instant{}) {
        origin_start_ = request_start_;
    }
    forward();
    const bool body_follows = client_.body().size() > 0;
    // The body goes out when the fetch has a connection (fetch_body_wanted), right behind the
    // head, and again on a retry.
    fetch_.start(gen_->pool(route_->pool), scratch_, client_.head().method, body_follows, 0,
                 route_->retry_any_method);
    return go(Step::Relay);
}

Next RequestFsm::step_relay() {
    if (body_send_failed_) {
        cache_status_ = CacheStatus::Error;
        if (response_started_) {
            cut_ = true;
            return Next::Finished;
        }
        return synth(500, true);
    }
    if (fault_ != origin::FetchFault::None) {
        return go(Step::OriginFailed);
    }
    if (origin_head_ != nullptr && !response_started_) {
        const http::ResponseHead& resp = *origin_head_;
        if (fill_ != nullptr && resp.status >= 500 && take_stale_for_error(resp.status)) {
            // stale-if-error: the stored answer beats the origin's error.
            fill_->detach_client();
            fill_ = nullptr;
            origin_end_ = ctx_.worker.now();
            return go(Step::Deliver);
        }
        if (fill_ != nullptr) {
            status_field_ = fill_->cache_status();
            if (leave_fill_for_object(resp)) {
                return go(Step::Assemble); // RFC 9111 §3.4: the range comes from the object
            }
        }
        if (invalidate_ && resp.status < 400) {
            ctx_.store->remove_url(key_.url_hash, key_.url);
        }
        write_origin_head(resp); // the body follows in fetch_body(), as it arrives
        log_status_ = resp.status;
    }
    if (!relay_done_) {
        return Next::Park;
    }
    if (!response_started_ && object_) {
        delivery_ = status_field_; // a 304 freshened the stored object (RFC 9111 §4.3.4)
        return go(Step::Deliver);
    }
    if (client_body_ == ClientBody::Chunked) {
        client_.write(http::kLastChunk);
    }
    return Next::Finished;
}

Next RequestFsm::step_stream() {
    if (!stream_started_) {
        stream_started_ = true;
        if (stream_->state() == cache::BodyStream::State::Failed) {
            stop_streaming(); // it failed before anything was sent: a clean error
            if (take_stale_for_error(502)) {
                return go(Step::Deliver);
            }
            cache_status_ = CacheStatus::Error;
            return synth(502);
        }
        count(ctx_, &ProxyMetrics::fetches_avoided);
        cache_status_ = CacheStatus::Coalesced;
        write_stream_head();
        stream_watcher_ = RequestWaiter::make(ctx_.worker, this);
        stream_->watch(stream_watcher_); // before reading: no news between the two is lost
        pump_stream();                   // may set stream_done_ or stream_failed_
    }
    if (stream_failed_) {
        stop_streaming();
        if (!stream_body_) {
            if (take_stale_for_error(502)) {
                return go(Step::Deliver);
            }
            cache_status_ = CacheStatus::Error;
            return synth(502);
        }
        cache_status_ = CacheStatus::Error;
        cut_ = true; // part of the answer is out
        log_status_ = 502;
        return Next::Finished;
    }
    if (!stream_done_) {
        return Next::Park;
    }
    const cache::ObjectRef object = stream_->object();
    stop_streaming();
    if (!stream_body_) {
        object_ = object; // a HEAD or a conditional request: answered from the object
        delivery_ = collapsed_status();
        return go(Step::Deliver);
    }
    if (client_body_ == ClientBody::Chunked) {
        client_.write(http::kLastChunk);
    }
    log_status_ = object->status();
    return Next::Finished;
}

Next RequestFsm::step_origin_failed() {
    const int status = origin::fetch_fault_status(fault_);
    if (!fault_after_head_ && !response_started_ && take_stale_for_error(status)) {
        return go(Step::Deliver);
    }
    cache_status_ = CacheStatus::Error;
    if (response_started_) {
        cut_ = true; // the answer started and will not be complete: the client must see it
        return Next::Finished;
    }
    // The origin pool's admission limit refused it: come back in a second.
    return synth(status, false, origin::is_admission_fault(fault_) ? 1 : 0);
}

Next RequestFsm::step_deliver() {
    deliver(*object_, delivery_);
    object_ = cache::ObjectRef();
    return Next::Finished;
}

Next RequestFsm::step_synth() {
    if (cache_status_ != CacheStatus::Error) {
        cache_status_ = CacheStatus::Synth;
    }
    if (client_.head().framing.kind != http::Framing::Kind::None && !body_in_) {
        synth_close_ = true; // the body was not read: the connection cannot go on
    }
    if (synth_close_) {
        keep_alive_ = false;
    }
    scratch_.clear();
    http::write_synthetic_response(scratch_, synth_status_, !keep_alive_,
                                   head_request_ && !synth_close_,
                                   date_line_now(ctx_.worker.unix_now()), synth_retry_after_);
    client_.write(scratch_);
    response_started_ = true;
    log_status_ = synth_status_;
    return Next::Finished;
}

Next RequestFsm::synth(int status, bool close, std::uint32_t retry_after) {
    synth_status_ = status;
    synth_close_ = close;
    synth_retry_after_ = retry_after;
    return go(Step::Synth);
}

bool RequestFsm::take_stale_for_error(int fwd_status) {
    if (!stale_) {
        return false;
    }
    count(ctx_, &ProxyMetrics::stale_origin_error);
    object_ = std::move(stale_);
    delivery_ = hit_status(fwd_status);
    return true;
}

} // namespace lacquer::proxy
