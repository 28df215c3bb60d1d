// What the connection asks of a request outside its steps (request_fsm.cc has the steps):
// cancel it, log a head it refused, mark the last request on the connection, give buffers back
// while idle, and the events that resume a parked request (its body in, the client drained).
#include "lacquer/core/assert.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/request_fsm.h"

namespace lacquer::proxy {

void RequestFsm::cancel(int status, Termination term) {
    if (!active_) {
        return;
    }
    if (term == Termination::ClientAbort && response_started_ && log_status_ != 0) {
        status = log_status_; // the client has the status line: say what it got (nginx)
    }
    term_ = term;
    stop_everything();
    if (status != 499 && cache_status_ != CacheStatus::Error) {
        cache_status_ = CacheStatus::Synth; // the connection answered it
    }
    step_ = Step::Done;
    history_.record(Step::Done, ctx_.worker.now());
    log(status);
    active_ = false;
    ctx_.release(*gen_);
    gen_ = nullptr;
}

void RequestFsm::log_refused(int status, Termination term) {
    LACQUER_ASSERT(!active_);
    term_ = term;
    // An id of its own for the log line: the head may be incomplete, nothing was forwarded.
    trace_.begin(http::HeaderList(), ctx_.config().log);
    request_start_ = ctx_.worker.now();
    origin_start_ = origin_end_ = origin_head_at_ = core::Instant{};
    origin_server_ = {};
    key_ = cache::BuiltKey();
    route_ = nullptr;
    body_bytes_ = 0;
    cache_status_ = CacheStatus::Synth;
    history_.clear();
    logged_ = false;
    log(status);
}

void RequestFsm::last_on_connection() {
    keep_alive_ = false; // said in the answer when its head is still to be written
}

void RequestFsm::release_buffers() {
    if (active_) {
        return;
    }
    fetch_.release_buffers();
    key_buffer_.release();
    target_buffer_.reset();
    target_capacity_ = 0;
    variant_headers_.release();
    // To the thread's pool: an idle connection holds no head buffer, and the next request takes
    // one back from the pool (start()).
    core::give_string(scratch_);
}

void RequestFsm::body_complete() {
    body_in_ = true;
    resume();
}

void RequestFsm::client_drained() {
    if (stream_) {
        pump_stream();
        return;
    }
    if (step_ == Step::Relay) {
        active_fetch().resume_body();
    }
}

} // namespace lacquer::proxy
