// The cache side of ClientSession: key, lookup, hits, and storing what a miss fetches.

#include "lacquer/cache/freshness.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/vary.h"
#include "lacquer/http/headers.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "object_delivery.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace lacquer::proxy {

namespace {} // namespace

bool ClientSession::serve_from_cache(const Route& route, std::string_view host,
                                     std::string_view target) {
    const RouteCache& rc = *route.cache;
    const http::RequestHead& req = parser_.request();
    forward_.allowed_headers = rc.forward_all_headers ? nullptr : &rc.forward_headers;
    forward_.withheld_headers = &rc.withheld_headers;
    if (!(req.is_get() || req.is_head()) || !request_body_done_) {
        set_variant_headers(rc, nullptr);
        return false; // other methods, and requests with a body, are passed
    }
    const cache::RequestView view = cache::request_view(host, target, &req.headers);
    switch (cache::build_key(rc.key, req.method, view, key_buffer_, key_)) {
    case cache::KeyOutcome::Ok:
        break;
    case cache::KeyOutcome::PassParams:
        forward_.target = key_.upstream_target;
        set_variant_headers(rc, nullptr);
        return false;
    case cache::KeyOutcome::RejectParams:
    case cache::KeyOutcome::BadEncoding:
        answer_inline(400);
        return true;
    case cache::KeyOutcome::TooLarge:
        answer_inline(414);
        return true;
    }
    forward_.target = key_.upstream_target; // unkeyed params never reach the origin
    set_variant_headers(rc, &key_);
    // Credentials are judged under the rules of the fetch the answer would be shared from: a
    // named route without forward_headers never sends them, so its answer can be shared.
    forward_.representation_only = rc.representation_only;
    forward_.shared_fetch = true;
    if (forwards_credentials()) {
        forward_.representation_only = false;
        forward_.shared_fetch = false;
        return false; // an answer for one user is never stored for all
    }

    const core::Instant now = ctx_.worker.now();
    if (cache::ObjectRef object =
            ctx_.store->lookup({key_.hash, key_.url_hash, key_.canonical}, &req.headers)) {
        const core::Millis resident = object->age_at(now); // a soft purge ages it
        const cache::Usability use =
            cache::classify(object->window(), resident, cache::OriginHealth::Up);
        if (use == cache::Usability::Fresh) {
            answer_from_object(*object, hit_status());
            return true;
        }
        if (use == cache::Usability::StaleRefresh) {
            // Inside `stale`: answer now, refresh once in the background.
            count(ctx_, &ProxyMetrics::stale_while_refresh);
            start_refresh(route, object);
            CacheStatusField field = hit_status();
            field.fwd = "stale";
            answer_from_object(*object, field);
            return true;
        }
        if (cache::classify(object->window(), resident, cache::OriginHealth::Down) ==
            cache::Usability::StaleIfError) {
            stale_ = std::move(object); // answers instead of an origin failure
        }
        status_field_.fwd = "stale";
    } else {
        status_field_.fwd = "uri-miss";
    }
    cache_fetch_ = true;
    forward_.method = "GET"; // a HEAD miss fetches the whole object, so that it can be stored
    return false;
}

void ClientSession::prepare_invalidation(std::string_view host, std::string_view target) {
    // The objects to drop were stored by the route a GET of this URL takes, under its key.
    const cache::RequestView view = cache::request_view(host, target, &parser_.request().headers);
    const Route& get_route = gen_->routes().match(host_without_port(host), view.path, "GET");
    if (get_route.cache == nullptr) {
        return;
    }
    invalidate_ = cache::build_key(get_route.cache->key, "GET", view, key_buffer_, key_) ==
                  cache::KeyOutcome::Ok;
}

void ClientSession::answer_purge(std::string_view host, std::string_view target) {
    const std::vector<config::AddressRange>& ranges = gen_->config().admin.purge_from;
    const std::string_view peer = conn_->peer_host();
    const bool allowed = std::any_of(ranges.begin(), ranges.end(), [peer](const auto& range) {
        return config::range_contains(range, peer);
    });
    if (!allowed || parser_.request().framing.kind != http::Framing::Kind::None) {
        answer_inline(allowed ? 400 : 403); // a PURGE has no body
        return;
    }
    prepare_invalidation(host, target);
    const std::size_t purged = invalidate_ ? ctx_.store->remove_url(key_.url_hash, key_.url) : 0;
    invalidate_ = false;
    char body[48];
    const int n = std::snprintf(body, sizeof body, "{\"purged\": %zu}\n", purged);
    cache_status_ = CacheStatus::Synth;
    scratch_.clear();
    http::write_text_response(scratch_, 200, "application/json",
                              std::string_view(body, static_cast<std::size_t>(n)), !keep_alive_);
    conn_->write(scratch_);
    response_started_ = true;
    log_request(200);
    finish_response();
}

void ClientSession::set_variant_headers(const RouteCache& rc, const cache::BuiltKey* key) {
    // The origin receives each variant's normalised value and never the client's own header of
    // that name, so the value it renders for is the one in the key.
    // A variant's own source headers (Accept-Language, X-Currency, ...) are withheld
    // (forward_.withheld_headers), or, when forward_headers names one, carry the same value.
    const std::size_t n = rc.key.variants.size();
    const http::RequestHead& req = parser_.request();
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

bool ClientSession::forwards_credentials() const {
    const http::HeaderList& headers = parser_.request().headers;
    return (headers.find("Authorization") != nullptr &&
            http::forwards_header(forward_, "Authorization")) ||
           (headers.find("Cookie") != nullptr && http::forwards_header(forward_, "Cookie"));
}

void ClientSession::answer_from_object(const cache::StoredObject& object, CacheStatusField field) {
    const core::Instant now = ctx_.worker.now();
    ObjectDelivery how;
    how.age = object.initial_age() +
              std::chrono::duration_cast<std::chrono::seconds>(now - object.stored_at()).count();
    how.head_only = head_request_;
    how.not_modified = is_not_modified(parser_.request(), object);
    how.close = !keep_alive_;
    how.http10_client = http10_;
    how.cache_status = field;
    cache_status_ = field.collapsed     ? CacheStatus::Coalesced
                    : field.fwd.empty() ? CacheStatus::Hit
                                        : CacheStatus::Stale;
    body_bytes_ = deliver_object(*conn_, object, how, scratch_);
    response_started_ = true;
    log_request(how.not_modified ? 304 : object.status());
    finish_response();
}

origin::OriginFetch& ClientSession::active_fetch() {
    return fill_ != nullptr ? fill_->fetch() : fetch_;
}

CacheFill::Params ClientSession::fill_params(const Route& route) {
    CacheFill::Params params; // the request in flight's key and config; scratch_ holds the head
    params.generation = gen_;
    params.route = &route;
    params.key = &key_;
    params.request = scratch_;
    return params;
}

void ClientSession::start_fill(const Route& route, bool leads) {
    CacheFill::Params params = fill_params(route);
    params.client = this;
    params.leads = leads;
    params.fwd = status_field_.fwd; // uri-miss, or stale for an expired object
    fill_ = CacheFill::create(ctx_, std::move(params));
    fill_->begin(); // may fail at once: fetch_failed() then clears fill_
}

void ClientSession::start_refresh(const Route& route, const cache::ObjectRef& object) {
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    if (!ctx_.coalescer->lead_refresh(key, ctx_.worker.now())) {
        return; // one is running, or the last one failed and the key is backing off
    }
    count(ctx_, &ProxyMetrics::background_refreshes);
    // The refresh asks "has it changed?" with the stored validators.
    std::size_t n = forward_.set_headers.size();
    if (!object->etag().empty()) {
        variant_headers_[n++] = http::Header{"If-None-Match", object->etag()};
    } else if (!object->last_modified().empty()) {
        variant_headers_[n++] = http::Header{"If-Modified-Since", object->last_modified()};
    }
    forward_.set_headers = std::span<const http::Header>(variant_headers_.data(), n);
    forward_.method = "GET";
    forward_.representation_only = route.cache->representation_only;
    forward_.shared_fetch = true;
    scratch_.clear();
    http::write_upstream_request(scratch_, parser_.request(), forward_);
    CacheFill::Params params = fill_params(route);
    params.leads = true;
    params.refresh = true;
    params.revalidating = object;
    params.fwd = "stale";
    CacheFill::create(ctx_, std::move(params))->begin(); // on its own from here
}

} // namespace lacquer::proxy
