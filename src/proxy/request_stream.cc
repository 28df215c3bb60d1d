// RequestFsm, sharing another request's fetch: the events of a coalesced wait (the leader's
// result, the wait's bound) and the effects of Stream: the answer's head from the leader's,
// then its body by reference from one shared buffer (cache::BodyStream) as it arrives.
#include "lacquer/cache/vary.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/request_fsm.h"
#include "object_delivery.h"
#include "range_answer.h"
#include "request_waiter.h"

namespace lacquer::proxy {

namespace {

void release_stream(const void*, std::size_t, void* token) {
    static_cast<const cache::BodyStream*>(token)->unref();
}

bool is_conditional(const http::RequestHead& request) {
    return request.headers.find("If-None-Match") != nullptr ||
           request.headers.find("If-Modified-Since") != nullptr;
}

} // namespace

CacheStatusField RequestFsm::collapsed_status() const {
    CacheStatusField field;
    field.fwd = status_field_.fwd;
    field.collapsed = true;
    return field;
}

void RequestFsm::on_fill_result(const cache::FillResult& result) {
    stop_waiting();
    wait_timer_.cancel();
    fill_result_ = result;
    fill_result_in_ = true;
    resume();
}

void RequestFsm::on_wait_timeout(void* arg) {
    auto* self = static_cast<RequestFsm*>(arg);
    const cache::StoreKey key{self->key_.hash, self->key_.url_hash, self->key_.canonical};
    if (!self->ctx_.coalescer->leave(key, self->waiter_.get())) {
        return; // already woken: the result is on its way to this thread
    }
    self->stop_waiting();
    self->wait_timed_out_ = true;
    self->resume();
}

void RequestFsm::stop_waiting() {
    if (!waiter_) {
        return;
    }
    waiter_->forget_request();
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    ctx_.coalescer->leave(key, waiter_.get());
    RequestWaiter::recycle(waiter_);
}

void RequestFsm::write_stream_head() {
    // A HEAD, a conditional or a range request is answered from the complete object (it may be
    // a 304 or a 206).
    stream_body_ =
        !head_request_ && !is_conditional(client_.head()) && !asks_for_range(client_.head());
    if (!stream_body_) {
        return;
    }
    stream_cursor_ = cache::BodyStream::Cursor();
    const int status = stream_->status();
    http::ClientResponseFraming framing;
    client_body_ = ClientBody::Raw;
    if (status == 204 || status == 304) {
        client_body_ = ClientBody::None;
    } else if (stream_->length_known()) {
        framing.body = {http::Framing::Kind::Length, stream_->length()};
    } else if (http10_) {
        keep_alive_ = false; // HTTP/1.0 has no chunked: the close ends the body
        close_delimited_ = true;
    } else {
        framing.body = {http::Framing::Kind::Chunked, 0};
        client_body_ = ClientBody::Chunked;
    }
    framing.close = !keep_alive_;
    framing.http10_client = http10_;
    const std::string_view head = stream_->head();
    if (http::stored_status_line(head).empty()) {
        char status_line[http::kStatusLineMax];
        scratch_.assign(http::write_status_line(status_line, status));
    } else {
        scratch_.clear();
    }
    scratch_.append(head);
    if (!has_date_line(head)) {
        scratch_.append(date_line_now(ctx_.worker.unix_now())); // RFC 9110 §6.6.1
    }
    scratch_.append(http::kOwnVia);
    scratch_.append("Age: 0\r\n");
    append_cache_status(scratch_, collapsed_status());
    http::write_response_end(scratch_, framing);
    client_.write(scratch_);
    response_started_ = true;
    log_status_ = status; // what a client that leaves mid-body is logged with
}

void RequestFsm::pump_stream() {
    if (!stream_ || stream_done_ || stream_failed_) {
        return;
    }
    const cache::BodyStream::State state = stream_->state(); // before reading (see read())
    if (stream_body_ && client_body_ != ClientBody::None) {
        while (client_.queued() <= kClientHighMark) { // client_drained() brings us back
            const std::string_view bytes = stream_->read(stream_cursor_);
            if (bytes.empty()) {
                break;
            }
            if (client_body_ == ClientBody::Chunked) {
                scratch_.clear();
                http::write_chunk_header(scratch_, bytes.size());
                client_.write(scratch_);
            }
            stream_->ref(); // dropped by libevent when it is done with the bytes
            client_.write_borrowed(bytes.data(), bytes.size(), &release_stream, stream_.get());
            if (client_body_ == ClientBody::Chunked) {
                client_.write(http::kChunkEnd);
            }
            body_bytes_ += bytes.size();
        }
    }
    switch (state) {
    case cache::BodyStream::State::Growing:
        return;
    case cache::BodyStream::State::Failed:
        stream_failed_ = true;
        resume();
        return;
    case cache::BodyStream::State::Complete:
        break;
    }
    if (stream_body_ && client_body_ != ClientBody::None &&
        stream_cursor_.position < stream_->filled()) {
        return; // the rest goes once the client's output drains
    }
    stream_done_ = true;
    resume();
}

bool RequestFsm::leave_fill_for_object(const http::ResponseHead& response) {
    const http::RequestHead& request = client_.head();
    if (response.status != 200 || !fill_->storing_known_length() ||
        !(asks_for_range(request) || is_conditional(request))) {
        return false;
    }
    // The fill stores the whole object on its own; this request answers from it when complete.
    stream_ = fill_->stream();
    fill_->detach_client();
    fill_ = nullptr;
    origin_head_ = nullptr;
    return true;
}

Next RequestFsm::step_assemble() {
    // This request leads the fill; it waits, like a waiter of a HEAD, for the complete object.
    if (!stream_started_) {
        stream_started_ = true;
        stream_body_ = false;
        stream_watcher_ = RequestWaiter::make(ctx_.worker, this);
        stream_->watch(stream_watcher_); // before reading: no news between the two is lost
        pump_stream();
    }
    if (stream_failed_) {
        stop_streaming(); // nothing was sent yet: a clean error, or the stale object
        if (take_stale_for_error(502)) {
            return go(Step::Deliver);
        }
        cache_status_ = CacheStatus::Error;
        return synth(502);
    }
    if (!stream_done_) {
        return Next::Park;
    }
    object_ = stream_->object();
    stop_streaming();
    delivery_ = status_field_; // fwd=uri-miss; stored, as the fill said
    return go(Step::Deliver);
}

void RequestFsm::stop_streaming() {
    if (stream_watcher_) {
        stream_watcher_->forget_request();
        stream_->unwatch(stream_watcher_.get());
        RequestWaiter::recycle(stream_watcher_);
    }
    stream_ = cache::StreamRef();
}

} // namespace lacquer::proxy
