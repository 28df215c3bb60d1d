// RequestFsm, how a request ends: an answer from a stored object (Deliver), and the one record
// of every request, counted in the metrics of its generation and written to the access log.
#include "lacquer/net/worker.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/request_fsm.h"
#include "object_delivery.h"
#include "range_answer.h"

#include <chrono>
#include <ctime>

namespace lacquer::proxy {

namespace {

// The log line's time with microseconds, from the wall clock, when the worker runs on the
// system clock (one vDSO call); 0 under a test's manual clock, whose whole seconds are used.
std::int64_t wall_clock_us(const net::Worker& worker) {
    if (&worker.clock() != &core::system_clock()) {
        return 0;
    }
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

} // namespace

void RequestFsm::deliver(const cache::StoredObject& object, CacheStatusField field) {
    const core::Instant now = ctx_.worker.now();
    ObjectDelivery how;
    how.age = object.initial_age() +
              std::chrono::duration_cast<std::chrono::seconds>(now - object.stored_at()).count();
    how.head_only = head_request_;
    how.not_modified = is_not_modified(client_.head(), object);
    if (!how.not_modified) {
        how.range = plan_range_answer(client_.head(), object); // RFC 9110 §14
    }
    how.close = !keep_alive_;
    how.http10_client = http10_;
    how.cache_status = field;
    cache_status_ = field.collapsed                         ? CacheStatus::Coalesced
                    : field.fwd.empty()                     ? CacheStatus::Hit
                    : !field.hit && field.fwd_status == 304 ? CacheStatus::Revalidated
                    : !field.hit ? CacheStatus::Miss // forwarded: a range or conditional miss
                                 : CacheStatus::Stale;
    body_bytes_ = deliver_object(client_, object, how, scratch_);
    response_started_ = true;
    log_status_ = how.not_modified                                   ? 304
                  : how.range.kind == http::RangeKind::Single        ? 206
                  : how.range.kind == http::RangeKind::Unsatisfiable ? 416
                                                                     : object.status();
}

void RequestFsm::log(int status) {
    if (logged_) {
        return;
    }
    logged_ = true;
    if (ctx_.transactions_watched->load(std::memory_order_relaxed)) [[unlikely]] {
        record_transaction(status);
    }
    // Counted on the request's generation: its route indexes are that generation's.
    const ProxyMetrics* metrics = gen_ != nullptr ? gen_->metrics() : ctx_.metrics();
    if (metrics != nullptr) {
        const ProxyMetrics& m = *metrics;
        const std::size_t route = route_ != nullptr ? route_->index : m.unrouted_index();
        const auto cs = static_cast<std::size_t>(cache_status_);
        ctx_.count(m.requests[route][cs]);
        ctx_.shard->observe(m.durations[route][cs], ctx_.worker.now() - request_start_);
        ctx_.count(m.sent_bytes, body_bytes_);
        count_request_end(ctx_, m, route, status, ctx_.worker.unix_now());
    }
    if (ctx_.access_log == nullptr) {
        return;
    }
    const http::RequestHead& req = client_.head();
    const http::Header* referer = req.headers.find("Referer");
    const http::Header* agent = req.headers.find("User-Agent");
    const core::Instant now = ctx_.worker.now();
    using Ms = std::chrono::duration<double, std::milli>;
    AccessLogEntry e;
    e.client = client_.peer_host();
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
    e.unix_time = ctx_.worker.unix_now();
    e.steps = history_.size() > 0 ? &history_ : nullptr;
    e.tls_version = client_.tls_version();
    e.sni = client_.tls_server_name();
    e.host = host_of_log(req);
    e.request_id = trace_.request_id();
    e.traceparent = trace_.traceparent();
    e.upstream_addr = trace_.upstream();
    e.request_bytes = client_.request_bytes();
    e.term = term_;
    e.unix_us = wall_clock_us(ctx_.worker);
    if (e.unix_us != 0) {
        e.unix_time = e.unix_us / 1'000'000;
    }
    ctx_.access_log->write(ctx_.worker.index(), e);
}

std::string_view RequestFsm::host_of_log(const http::RequestHead& req) const {
    if (active_ && !host_.empty()) {
        return host_; // the authority it was routed on
    }
    const http::Header* host = req.headers.find("Host");
    return host != nullptr ? host->value : std::string_view();
}

void RequestFsm::add_trace_headers() {
    const std::span<const http::Header> trace = trace_.headers();
    const std::size_t n = forward_.set_headers.size();
    if (trace.empty() ||
        (n > 0 && forward_.set_headers[n - 1].value.data() == trace.back().value.data())) {
        return; // none, or already there (a request forwarded twice: a refresh, then a fetch)
    }
    std::size_t count = n;
    for (const http::Header& h : trace) {
        variant_headers_[count++] = h;
    }
    forward_.set_headers = std::span<const http::Header>(variant_headers_.data(), count);
}

} // namespace lacquer::proxy
