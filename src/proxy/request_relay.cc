// RequestFsm, the origin side: the upstream request, the events of a fetch (a pass, or the
// cache fill this request relays), and the origin's answer on its way to the client.
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
    const http::RequestHead& req = client_.head();
    const std::uint64_t body =
        req.framing.kind != http::Framing::Kind::None ? client_.body().size() : 0;
    scratch_.clear();
    // A body read whole goes on with its length, whatever its framing was (as nginx does).
    forward_.body = req.framing.kind != http::Framing::Kind::None
                        ? http::Framing{http::Framing::Kind::Length, body}
                        : http::Framing{};
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
    http::write_response_lines(scratch_, resp);
    append_cache_status(scratch_, status_field_);
    http::write_response_end(scratch_, framing);
    client_.write(scratch_);
    response_started_ = true;
}

// ---- fetch events: store what came, resume the step (the body moves here, as it arrives) ----

void RequestFsm::fetch_head(origin::OriginFetch& fetch) {
    origin_head_ = &fetch.response();
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
    fill_ = nullptr; // a fill ends after its last callback
    relay_done_ = true;
    resume();
}

void RequestFsm::fetch_failed(origin::OriginFetch&, origin::FetchFault fault, bool head_delivered) {
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
