// A finished request's record for the live transaction log (transaction_log.h): copied into the
// worker's ring, only while someone watches (the caller checked the flag). Bounded copies into a
// fixed slot; no allocation (the Cache-Status text goes through scratch_, whose capacity stays).
#include "lacquer/proxy/request_fsm.h"

#include <algorithm>
#include <chrono>

namespace lacquer::proxy {

namespace {

std::uint32_t micros(core::Instant from, core::Instant to) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX - 1));
}

} // namespace

void RequestFsm::record_transaction(int status) {
    if (ctx_.transactions == nullptr) {
        return;
    }
    TransactionRing* ring = ctx_.transactions->ring(ctx_.worker.index());
    TransactionRecord* r = ring != nullptr ? ring->claim() : nullptr;
    if (r == nullptr) {
        return; // no ring yet, or the reader is behind: counted by the ring
    }
    using Field = TransactionRecord::Field;
    const core::Instant now = ctx_.worker.now();
    const http::RequestHead& req = client_.head();
    r->unix_time = ctx_.worker.unix_now();
    r->bytes = body_bytes_;
    r->total_us = micros(request_start_, now);
    r->origin_us = TransactionRecord::kNoTime;
    r->first_byte_us = TransactionRecord::kNoTime;
    if (origin_start_ != core::Instant{}) {
        r->origin_us = micros(origin_start_, origin_end_ == core::Instant{} ? now : origin_end_);
        if (origin_head_at_ != core::Instant{}) {
            r->first_byte_us = micros(origin_start_, origin_head_at_);
        }
    }
    r->status = static_cast<std::uint16_t>(status);
    r->cache_status = static_cast<std::uint8_t>(cache_status_);
    r->worker = static_cast<std::uint16_t>(ctx_.worker.index());
    bool delivered = false;
    const std::size_t steps = std::min(history_.size(), TransactionRecord::kSteps);
    for (std::size_t i = 0; i < steps; ++i) {
        const StepHistory::Entry e = history_.at(history_.size() - steps + i);
        r->steps[i] = {static_cast<std::uint8_t>(e.step), micros(request_start_, e.at)};
        delivered = delivered || e.step == Step::Deliver;
    }
    r->step_count = static_cast<std::uint8_t>(steps);
    r->offsets[0] = 0;
    r->set_field(Field::Client, client_.peer_host());
    r->set_field(Field::Method, req.method);
    // host_ is this request's once it was routed; before that, the Host header as sent.
    const http::Header* host = req.headers.find("Host");
    r->set_field(Field::Host, route_ != nullptr ? host_
                              : host != nullptr ? std::string_view(host->value)
                                                : std::string_view("-"));
    r->set_field(Field::Url, req.target);
    r->set_field(Field::Route, route_ != nullptr ? std::string_view(route_->name) : "-");
    r->set_field(Field::Key, key_.canonical);
    // The Cache-Status the answer carried: a stored object's (Deliver) or the forward's.
    scratch_.clear();
    append_cache_status(scratch_, delivered ? delivery_ : status_field_);
    std::string_view field = scratch_;
    field.remove_prefix(std::min(field.size(), std::string_view("Cache-Status: ").size()));
    field.remove_suffix(std::min(field.size(), std::size_t{2})); // CRLF
    r->set_field(Field::CacheStatus, field);
    r->set_field(Field::Origin, origin_server_.empty() ? "-" : origin_server_);
    ring->publish();
}

} // namespace lacquer::proxy
