// ClientSession, the origin side: the response of a fetch (pass, or a cache fill this request
// streams from) on its way to the client, and origin failures turned into answers.
#include "lacquer/cache/object_store.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/proxy_metrics.h"

namespace lacquer::proxy {

void ClientSession::fetch_head(origin::OriginFetch& fetch) {
    const http::ResponseHead& resp = fetch.response();
    if (fill_ != nullptr) {
        if (stale_ && resp.status >= 500) {
            // stale-if-error: the stored answer beats the origin's error.
            fill_->detach_client();
            fill_ = nullptr;
            origin_end_ = ctx_.worker.now();
            const cache::ObjectRef stale = std::move(stale_);
            count(ctx_, &ProxyMetrics::stale_origin_error);
            answer_from_object(*stale, hit_status(resp.status));
            return;
        }
        status_field_ = fill_->cache_status();
    }
    if (invalidate_ && resp.status < 400) {
        ctx_.store->remove_url(key_.url_hash, key_.url);
    }
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
    if (!request_body_done_) {
        keep_alive_ = false; // the origin answered before the whole body: no next request
    }
    framing.close = !keep_alive_;
    framing.http10_client = http10_;
    scratch_.clear();
    http::write_response_lines(scratch_, resp);
    append_cache_status(scratch_, status_field_);
    http::write_response_end(scratch_, framing);
    conn_->write(scratch_);
    response_started_ = true;
}

void ClientSession::fetch_body(origin::OriginFetch& fetch, net::Connection& from, std::size_t n) {
    switch (client_body_) {
    case ClientBody::None:
        from.drain(n);
        break;
    case ClientBody::Raw:
        from.move_input_to(*conn_, n);
        body_bytes_ += n;
        break;
    case ClientBody::Chunked:
        body_bytes_ += n;
        scratch_.clear();
        http::write_chunk_header(scratch_, n);
        conn_->write(scratch_);
        from.move_input_to(*conn_, n);
        conn_->write(http::kChunkEnd);
        break;
    }
    if (conn_->output_size() > kClientHighMark) {
        fetch.pause_body(); // on_drained() resumes it
    }
}

void ClientSession::fetch_done(origin::OriginFetch& fetch) {
    if (client_body_ == ClientBody::Chunked) {
        conn_->write(http::kLastChunk);
    }
    origin_end_ = ctx_.worker.now();
    fill_ = nullptr; // a fill ends after its last callback
    log_request(fetch.response().status);
    finish_response();
}

void ClientSession::fetch_failed(origin::OriginFetch& fetch, origin::FetchFault fault,
                                 bool head_delivered) {
    origin_end_ = ctx_.worker.now();
    fill_ = nullptr;
    if (!head_delivered && stale_) {
        const cache::ObjectRef stale = std::move(stale_);
        count(ctx_, &ProxyMetrics::stale_origin_error);
        answer_from_object(*stale, hit_status(origin::fetch_fault_status(fault)));
        return;
    }
    cache_status_ = CacheStatus::Error;
    if (head_delivered) {
        end_unfinished(fetch.response().status);
        return;
    }
    if (!request_body_done_) {
        answer_and_close(origin::fetch_fault_status(fault));
        return;
    }
    scratch_.clear();
    http::write_synthetic_response(scratch_, origin::fetch_fault_status(fault), !keep_alive_,
                                   head_request_);
    conn_->write(scratch_);
    response_started_ = true;
    log_request(origin::fetch_fault_status(fault));
    finish_response();
}

void ClientSession::fetch_upstream_drained(origin::OriginFetch&) {
    if (!body_.all_sent()) {
        send_request_body();
    }
}

} // namespace lacquer::proxy
