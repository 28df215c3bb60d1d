// ClientSession, sharing another request's fetch: a cacheable miss joins the key's fetch
// (cache::Coalescer), waits for it within a bound, and then answers from the leader's body as
// it arrives (a cache::BodyStream, sent by reference), from the stored object, with a stale
// object or the error when the leader failed, or fetches on its own.

#include "lacquer/cache/vary.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "object_delivery.h"

#include <atomic>

namespace lacquer::proxy {

// Wakes a session on its own worker, for a coalesced wait (once) and for a stream's news
// (each time it has more, at most one wake-up queued at a time). The session forgets it
// (forget_session(), on that same thread) when it stops, so a late wake finds nobody.
class SessionWaiter final : public cache::FillWaiter,
                            public cache::StreamWatcher,
                            public std::enable_shared_from_this<SessionWaiter> {
public:
    SessionWaiter(net::Worker& worker, ClientSession* session)
        : worker_(worker), session_(session) {}

    void wake(const cache::FillResult& result) override {
        // Kept here rather than in the task, whose capture then fits std::function's own
        // storage (no allocation per wake); post() orders this write before the task's read.
        result_ = result;
        worker_.post([self = shared_from_this()] {
            if (self->session_ != nullptr) {
                self->session_->on_fill_result(self->result_);
            }
        });
    }

    void more() override {
        // Sequentially consistent with the stream's fill mark: either this sees the flag
        // cleared and queues a wake-up, or the queued one reads the new mark after clearing it.
        if (scheduled_.exchange(true)) {
            return;
        }
        worker_.post([self = shared_from_this()] {
            self->scheduled_.store(false);
            if (self->session_ != nullptr) {
                self->session_->pump_stream();
            }
        });
    }

    // On the session's worker, when the session stops: a wake-up still queued finds nobody.
    void forget_session() { session_ = nullptr; }

private:
    net::Worker& worker_;
    ClientSession* session_;   // on worker_'s thread only
    cache::FillResult result_; // written once, by wake(), before its task is posted
    std::atomic<bool> scheduled_{false};
};

namespace {

void release_stream(const void*, std::size_t, void* token) {
    static_cast<const cache::BodyStream*>(token)->unref();
}

bool is_conditional(const http::RequestHead& request) {
    return request.headers.find("If-None-Match") != nullptr ||
           request.headers.find("If-Modified-Since") != nullptr;
}

} // namespace

void ClientSession::fetch_for_cache(const Route& route) {
    auto waiter = std::make_shared<SessionWaiter>(ctx_.worker, this);
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    switch (ctx_.coalescer->join(key, waiter, ctx_.worker.now())) {
    case cache::Coalescer::Join::Lead:
        start_fill(route, true);
        return;
    case cache::Coalescer::Join::Wait: {
        waiter_ = std::move(waiter);
        cache_status_ = CacheStatus::Coalesced;
        count(ctx_, &ProxyMetrics::coalesced_waits);
        // Bounded: the route's wait_timeout, else by the time the leader's origin would have
        // timed out; then this request goes alone. The wait ends when the leader's head is in.
        const origin::OriginPoolSpec& spec = gen_->pool(route.pool).spec();
        const core::Millis bound =
            route.cache->wait_timeout.count() > 0
                ? route.cache->wait_timeout
                : spec.connect_timeout + spec.first_byte_timeout + core::Millis(1000);
        timer_.arm(bound);
        return;
    }
    case cache::Coalescer::Join::HitForMiss:
        cache_status_ = CacheStatus::HitForMiss;
        count(ctx_, &ProxyMetrics::hit_for_miss);
        start_fill(route, false);
        return;
    }
}

void ClientSession::on_fill_result(const cache::FillResult& result) {
    stop_waiting();
    timer_.cancel();
    const Route& route = *route_;
    const http::HeaderList& headers = parser_.request().headers;
    if (result.outcome == cache::FillOutcome::Streaming && result.stream &&
        cache::vary_matches(result.stream->vary(), &headers)) {
        follow_stream(result.stream);
        return;
    }
    if (result.outcome == cache::FillOutcome::Stored && result.object &&
        cache::vary_matches(result.object->vary(), &headers)) {
        count(ctx_, &ProxyMetrics::fetches_avoided);
        answer_from_object(*result.object, collapsed_status());
        return;
    }
    if (result.outcome == cache::FillOutcome::Failed) {
        answer_fill_failure(result.error_status);
        return;
    }
    // Uncacheable, or another Vary variant than ours: ask the origin ourselves.
    start_fill(route, false);
}

void ClientSession::answer_fill_failure(int error_status) {
    // The origin just failed for this key: a stale object if allowed, else the error; a
    // failing origin is not asked again by every waiter.
    if (stale_) {
        const cache::ObjectRef stale = std::move(stale_);
        count(ctx_, &ProxyMetrics::stale_origin_error);
        answer_from_object(*stale, hit_status(error_status));
        return;
    }
    cache_status_ = CacheStatus::Error;
    answer_inline(error_status != 0 ? error_status : 502);
}

CacheStatusField ClientSession::collapsed_status() {
    CacheStatusField field;
    field.fwd = "uri-miss";
    field.collapsed = true;
    return field;
}

void ClientSession::follow_stream(cache::StreamRef stream) {
    if (stream->state() == cache::BodyStream::State::Failed) {
        answer_fill_failure(502); // it failed before we sent anything: a clean error
        return;
    }
    count(ctx_, &ProxyMetrics::fetches_avoided);
    cache_status_ = CacheStatus::Coalesced;
    stream_ = std::move(stream);
    stream_cursor_ = cache::BodyStream::Cursor();
    // A HEAD or a conditional request is answered from the complete object (it may be a 304).
    stream_body_ = !head_request_ && !is_conditional(parser_.request());
    if (stream_body_) {
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
        scratch_.append(http::kOwnVia);
        scratch_.append("Age: 0\r\n");
        append_cache_status(scratch_, collapsed_status());
        http::write_response_end(scratch_, framing);
        conn_->write(scratch_);
        response_started_ = true;
    }
    stream_watcher_ = std::make_shared<SessionWaiter>(ctx_.worker, this);
    stream_->watch(stream_watcher_); // before reading: no news between the two is lost
    pump_stream();
}

void ClientSession::pump_stream() {
    if (!stream_) {
        return;
    }
    const cache::BodyStream::State state = stream_->state(); // before reading (see read())
    if (stream_body_ && client_body_ != ClientBody::None) {
        while (conn_->output_size() <= kClientHighMark) { // on_drained() brings us back
            const std::string_view bytes = stream_->read(stream_cursor_);
            if (bytes.empty()) {
                break;
            }
            if (client_body_ == ClientBody::Chunked) {
                scratch_.clear();
                http::write_chunk_header(scratch_, bytes.size());
                conn_->write(scratch_);
            }
            stream_->ref(); // dropped by libevent when it is done with the bytes
            conn_->write_borrowed(bytes.data(), bytes.size(), &release_stream, stream_.get());
            if (client_body_ == ClientBody::Chunked) {
                conn_->write(http::kChunkEnd);
            }
            body_bytes_ += bytes.size();
        }
    }
    switch (state) {
    case cache::BodyStream::State::Growing:
        return;
    case cache::BodyStream::State::Failed:
        stop_streaming();
        if (!stream_body_) {
            answer_fill_failure(502);
            return;
        }
        end_unfinished(502); // part of the answer is out
        return;
    case cache::BodyStream::State::Complete:
        break;
    }
    if (stream_body_ && client_body_ != ClientBody::None &&
        stream_cursor_.position < stream_->filled()) {
        return; // the rest goes once the client's output drains
    }
    const cache::ObjectRef object = stream_->object();
    stop_streaming();
    if (!stream_body_) {
        answer_from_object(*object, collapsed_status());
        return;
    }
    if (client_body_ == ClientBody::Chunked) {
        conn_->write(http::kLastChunk);
    }
    log_request(object->status());
    finish_response();
}

void ClientSession::stop_streaming() {
    if (stream_watcher_) {
        stream_watcher_->forget_session();
        stream_->unwatch(stream_watcher_.get());
        stream_watcher_.reset();
    }
    stream_ = cache::StreamRef();
}

void ClientSession::on_wait_timeout() {
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    if (!ctx_.coalescer->leave(key, waiter_.get())) {
        return; // already woken: the result is on its way to this thread
    }
    stop_waiting();
    count(ctx_, &ProxyMetrics::wait_timeouts);
    start_fill(*route_, false);
}

void ClientSession::stop_waiting() {
    if (!waiter_) {
        return;
    }
    waiter_->forget_session();
    const cache::StoreKey key{key_.hash, key_.url_hash, key_.canonical};
    ctx_.coalescer->leave(key, waiter_.get());
    waiter_.reset();
}

} // namespace lacquer::proxy
