// RequestFsm, the origin side: the upstream request, the events of a fetch (a pass, or the
// cache fill this request relays), and the origin's answer on its way to the client.
#include "lacquer/core/spare_strings.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/request_body.h"
#include "lacquer/proxy/request_fsm.h"
#include "object_delivery.h"

namespace lacquer::proxy {

namespace {
// Request-body bytes queued upstream beyond which sending waits for fetch_upstream_drained().
constexpr std::size_t kUpstreamHighMark = 256 * 1024;
} // namespace

void RequestFsm::forward() {
    add_trace_headers();
    const http::RequestHead& req = client_.head();
    const std::uint64_t body =
        req.framing.kind != http::Framing::Kind::None ? client_.body().size() : 0;
    // A body read whole goes on with its length, whatever its framing was (as nginx does).
    forward_.body = req.framing.kind != http::Framing::Kind::None
                        ? http::Framing{http::Framing::Kind::Length, body}
                        : http::Framing{};
    core::clear_for(scratch_, http::upstream_request_size(req, forward_));
    http::write_upstream_request(scratch_, req, forward_);
}

void RequestFsm::send_request_body() {
    net::Connection* upstream = fetch_.upstream();
    RequestBody& body = client_.body();
    if (upstream == nullptr || body.all_sent() || fault_ != origin::FetchFault::None ||
        body_send_failed_) {
        return;
    }
    bool failed = false;
    if (body.send(*upstream, kUpstreamHighMark, failed)) {
        fetch_.request_sent();
        return;
    }
    if (failed) {
        report_body_file_failure(ctx_, gen_->config().limits.client_body_temp_dir,
                                 body.file_error());
        fetch_.cancel(); // the origin never sees a complete request
        body_send_failed_ = true;
        resume();
    }
}

origin::OriginFetch& RequestFsm::active_fetch() {
    return fill_ != nullptr ? fill_->fetch() : fetch_;
}

void RequestFsm::write_origin_head(const http::ResponseHead& resp) {
    http::ClientResponseFraming framing;
    const bool bodiless_status = resp.status < 200 || resp.status == 204 || resp.status == 304;
    if (head_request_) {
        // HEAD: the origin's declared length describes the GET body; pass it on.
        framing.body = resp.has_content_length
                           ? http::Framing{http::Framing::Kind::Length, resp.content_length}
                           : http::Framing{};
        client_body_ = ClientBody::None;
    } else if (bodiless_status) {
        client_body_ = ClientBody::None;
    } else {
        switch (resp.framing.kind) {
        case http::Framing::Kind::None:
            framing.body = {http::Framing::Kind::Length, 0};
            client_body_ = ClientBody::None;
            break;
        case http::Framing::Kind::Length:
            framing.body = resp.framing;
            client_body_ = ClientBody::Raw;
            break;
        case http::Framing::Kind::Chunked:
        case http::Framing::Kind::UntilClose:
            if (http10_) {
                keep_alive_ = false; // HTTP/1.0 has no chunked: the close ends the body
                close_delimited_ = true;
                client_body_ = ClientBody::Raw;
            } else {
                framing.body = {http::Framing::Kind::Chunked, 0};
                client_body_ = ClientBody::Chunked;
            }
            break;
        }
    }
    framing.close = !keep_alive_;
    framing.http10_client = http10_;
    scratch_.clear();
    http::write_response_lines(scratch_, resp,
                               route_ != nullptr && route_->cache != nullptr
                                   ? std::span<const std::string>(route_->cache->removed_fields)
                                   : std::span<const std::string>());
    if (resp.headers.find("Date") == nullptr) {
        scratch_.append(date_line_now(ctx_.worker.unix_now())); // RFC 9110 §6.6.1
    }
    append_cache_status(scratch_, status_field_);
    http::write_response_end(scratch_, framing);
    client_.write(scratch_);
    response_started_ = true;
}

// ---- fetch events: store what came, resume the step (the body moves here, as it arrives) ----

void RequestFsm::fetch_interim(origin::OriginFetch& fetch) {
    // RFC 9110 §15.2: a proxy forwards the origin's 1xx (103 Early Hints, 100, 102) before the
    // final answer, but never to an HTTP/1.0 client. A few per request: an origin that keeps
    // sending them cannot fill the client's buffer (its first-byte timeout bounds the time).
    constexpr int kMaxInterim = 8;
    if (http10_ || response_started_ || interim_sent_ >= kMaxInterim) {
        return;
    }
    ++interim_sent_;
    scratch_.clear();
    http::write_response_lines(scratch_, fetch.response());
    scratch_.append("\r\n");
    client_.write(scratch_);
}

void RequestFsm::fetch_head(origin::OriginFetch& fetch) {
    trace_.set_upstream(fetch.server_name());
    origin_head_ = &fetch.response();
    origin_head_at_ = ctx_.worker.now();
    origin_server_ = fetch.server_name();
    resume();
}

void RequestFsm::fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) {
    switch (client_body_) {
    case ClientBody::None:
        from.drain(n);
        break;
    case ClientBody::Raw:
        client_.move_from(from, n);
        body_bytes_ += n;
        break;
    case ClientBody::Chunked:
        body_bytes_ += n;
        scratch_.clear();
        http::write_chunk_header(scratch_, n);
        client_.write(scratch_);
        client_.move_from(from, n);
        client_.write(http::kChunkEnd);
        break;
    }
    if (client_.queued() > kClientHighMark) {
        fetch.pause_body(); // client_drained() resumes it
    }
}

void RequestFsm::fetch_done(origin::OriginFetch&) {
    origin_end_ = ctx_.worker.now();
    if (fill_ != nullptr && fill_->renewed()) {
        object_ = fill_->renewed(); // a 304: Relay answers from the freshened object
        status_field_ = fill_->cache_status();
    }
    fill_ = nullptr; // a fill ends after its last callback
    relay_done_ = true;
    resume();
}

void RequestFsm::fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                              bool head_delivered) {
    trace_.set_upstream(fetch.server_name()); // the server tried last, "-" when none was
    origin_end_ = ctx_.worker.now();
    fill_ = nullptr;
    fault_ = fault;
    fault_after_head_ = head_delivered;
    resume();
}

void RequestFsm::fetch_upstream_drained(origin::OriginFetch&) {
    send_request_body();
}

void RequestFsm::fetch_body_wanted(origin::OriginFetch&) {
    client_.body().rewind(); // a retry sends the held body again, from its first byte
    send_request_body();
}

} // namespace lacquer::proxy
