// RequestFsm, the cache side of its steps: the target and authority read once, the key, the
// variants' headers, invalidation and PURGE (one purge target), fills and refreshes.
#include "lacquer/cache/object_store.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/http/headers.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/purge_target.h"
#include "lacquer/proxy/request_fsm.h"
#include "object_delivery.h"

#include <algorithm>
#include <cstdio>

namespace lacquer::proxy {

http::TargetOutcome RequestFsm::read_target() {
    const http::RequestHead& req = client_.head();
    const http::PathRules& rules = gen_->routes().path_rules();
    const http::TargetOutcome outcome =
        http::read_request_target(req.target, req.method, rules,
                                  std::span<char>(target_buffer_.get(), target_capacity_), target_);
    if (outcome != http::TargetOutcome::TooLong || target_buffer_) {
        return outcome;
    }
    // Most paths are already normal and need no buffer; the first one that is not gets one,
    // kept for the connection (a target is never longer than the URI limit).
    target_capacity_ = static_cast<std::size_t>(ctx_.config().limits.max_uri_bytes);
    target_buffer_ = core::make_block(target_capacity_);
    return http::read_request_target(req.target, req.method, rules,
                                     std::span<char>(target_buffer_.get(), target_capacity_),
                                     target_);
}

std::string_view RequestFsm::authority() const {
    // RFC 9112 §3.2: an absolute-form target's authority is the request's (a Host that says
    // otherwise is refused); HTTP/1.1 always has a non-empty Host (the parser checks). An
    // HTTP/1.0 request without either is routed, keyed and sent upstream under one host: the
    // first server of the default route's origin, as configured (nginx's $proxy_host).
    const http::Header* host = client_.head().headers.find("Host");
    if (target_.absolute_form) {
        if (host != nullptr && !host->value.empty() &&
            !http::iequals(host->value, target_.authority)) {
            return {};
        }
        return target_.authority;
    }
    if (host != nullptr && !host->value.empty()) {
        return host->value;
    }
    const Generation& g = gen_->shared();
    const auto& servers = g.pool_specs[g.routes->default_route().pool].servers;
    return servers.empty() ? std::string_view("localhost") : std::string_view(servers.front().name);
}

cache::KeyOutcome RequestFsm::build_key(const RouteCache& rc) {
    const http::RequestHead& req = client_.head();
    const cache::RequestView view = cache::request_view(host_, target_.origin_form, &req.headers);
    return cache::build_key(rc.key, req.method, view, key_buffer_, key_);
}

void RequestFsm::set_variant_headers(const RouteCache& rc, const cache::BuiltKey* key) {
    // The origin receives each variant's normalised value and never the client's own header of
    // that name, so the value it renders for is the one in the key. A variant's own source
    // headers (Accept-Language, X-Currency, ...) are withheld (forward_.withheld_headers), or,
    // when forward_headers names one, carry the same value.
    const std::size_t n = rc.key.variants.size();
    const http::RequestHead& req = client_.head();
    const cache::RequestView view = cache::request_view({}, req.target, &req.headers);
    std::array<std::uint8_t, cache::kMaxKeyVariants> values{};
    for (std::size_t i = 0; i < n; ++i) {
        const cache::Variant& variant = *rc.key.variants[i];
        values[i] = key != nullptr ? key->variant_values[i] : cache::resolve(variant, view);
        variant_headers_[i] = http::Header{variant.forward_header, variant.value(values[i])};
    }
    std::size_t count = n;
    for (const RouteCache::Rewrite& rewrite : rc.rewritten) {
        const cache::Variant& variant = *rc.key.variants[rewrite.variant_index];
        variant_headers_[count++] =
            http::Header{rewrite.header, variant.value(values[rewrite.variant_index])};
    }
    forward_.set_headers = std::span<const http::Header>(variant_headers_.data(), count);
}

bool RequestFsm::forwards_credential(std::string_view name) const {
    return client_.head().headers.find(name) != nullptr && http::forwards_header(forward_, name);
}

Next RequestFsm::pass_with_credentials() {
    forward_.representation_only = false;
    forward_.shared_fetch = false;
    return go(Step::Pass); // an answer for one user is never stored for all
}

void RequestFsm::prepare_invalidation() {
    // The objects to drop were stored under the key a GET of this URL has (purge_target.h).
    invalidate_ = purge_key(gen_->routes(), host_, target_.origin_form, &client_.head().headers, {},
                            key_buffer_, key_); // the target is normalised already
}

Next RequestFsm::answer_purge() {
    const std::vector<config::AddressRange>& ranges = gen_->config().admin.purge_from;
    const std::string_view peer = client_.peer_host();
    const bool allowed = std::any_of(ranges.begin(), ranges.end(), [peer](const auto& range) {
        return config::range_contains(range, peer);
    });
    if (!allowed || client_.head().framing.kind != http::Framing::Kind::None) {
        return synth(allowed ? 400 : 403); // a PURGE has no body
    }
    prepare_invalidation();
    const std::size_t purged = invalidate_ ? ctx_.store->remove_url(key_.url_hash, key_.url) : 0;
    invalidate_ = false;
    char body[48];
    const int n = std::snprintf(body, sizeof body, "{\"purged\": %zu}\n", purged);
    cache_status_ = CacheStatus::Synth;
    scratch_.clear();
    http::write_text_response(scratch_, 200, "application/json",
                              std::string_view(body, static_cast<std::size_t>(n)), !keep_alive_,
                              false, date_line_now(ctx_.worker.unix_now()));
    client_.write(scratch_);
    response_started_ = true;
    log_status_ = 200;
    return Next::Finished;
}

void RequestFsm::start_fill(bool leads) {
    CacheFill::Params params; // the request's key and config; scratch_ holds the head
    params.generation = gen_;
    params.route = route_;
    params.key = &key_;
    params.request = scratch_;
    params.client = this;
    params.leads = leads;
    params.fwd = status_field_.fwd;    // uri-miss, or stale for an expired object
    params.revalidating = revalidate_; // set by Revalidate: the request is conditional
    fill_ = CacheFill::create(ctx_, std::move(params));
    fill_->begin(); // may fail at once: fetch_failed() then clears fill_
}

void RequestFsm::add_validators(const cache::StoredObject& object) {
    // RFC 9111 §4.3.1: the stored entity tag in If-None-Match, the stored Last-Modified in
    // If-Modified-Since (an origin that knows ETags decides on If-None-Match, RFC 9110 §13.2.2).
    // The headers the object's Vary names go with their stored values: the lookup matched
    // them to this request's, which the fetch forwards (CacheFill::vary_spec records only
    // headers the origin receives).
    std::size_t n = forward_.set_headers.size();
    if (!object.etag().empty()) {
        variant_headers_[n++] = http::Header{"If-None-Match", object.etag()};
    }
    if (!object.last_modified().empty()) {
        variant_headers_[n++] = http::Header{"If-Modified-Since", object.last_modified()};
    }
    forward_.set_headers = std::span<const http::Header>(variant_headers_.data(), n);
}

void RequestFsm::start_refresh(const cache::ObjectRef& object) {
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    if (!ctx_.coalescer->lead_refresh(key, ctx_.worker.now())) {
        return; // one is running, or the last one failed and the key is backing off
    }
    count(ctx_, &ProxyMetrics::background_refreshes);
    // The refresh asks "has it changed?" with the stored validators.
    add_validators(*object);
    add_trace_headers(); // the refresh carries the id of the request that caused it
    forward_.method = "GET";
    forward_.representation_only = route_->cache->representation_only;
    forward_.shared_fetch = true;
    core::clear_for(scratch_, http::upstream_request_size(client_.head(), forward_));
    http::write_upstream_request(scratch_, client_.head(), forward_);
    CacheFill::Params params;
    params.generation = gen_;
    params.route = route_;
    params.key = &key_;
    params.request = scratch_;
    params.leads = true;
    params.refresh = true;
    params.revalidating = object;
    params.fwd = "stale";
    CacheFill::create(ctx_, std::move(params))->begin(); // on its own from here
}

} // namespace lacquer::proxy
