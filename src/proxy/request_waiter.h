#pragma once
// Wakes a request on its own worker, for a coalesced wait (once) and for a stream's news (each
// time it has more, at most one wake-up queued at a time). The request forgets it (request_ =
// nullptr, on that same thread) when it stops waiting or streaming, so a late wake finds nobody.
// Waiters come and go with every coalesced request: each thread keeps the ones nobody else
// holds any more for its next requests (make / recycle), so a wait allocates none.

#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/request_fsm.h"

#include <atomic>
#include <memory>

namespace lacquer::proxy {

class RequestWaiter final : public cache::FillWaiter,
                            public cache::StreamWatcher,
                            public std::enable_shared_from_this<RequestWaiter> {
public:
    RequestWaiter(net::Worker& worker, RequestFsm* request) : worker_(&worker), request_(request) {}

    // A waiter for `request` on `worker`'s thread: one this thread kept, else a new one.
    static std::shared_ptr<RequestWaiter> make(net::Worker& worker, RequestFsm* request);
    // The request is done with `waiter` (it forgot the request): kept for this thread's next
    // make() when nobody else holds it, else left to its other holders. `waiter` ends empty.
    static void recycle(std::shared_ptr<RequestWaiter>& waiter);

    void wake(const cache::FillResult& result) override {
        // Kept here rather than in the task, so the task captures `this` alone and fits
        // std::function's own storage (a captured shared_ptr did not: an allocation per wake);
        // post() orders these writes before the task's reads. One wake per waiter.
        result_ = result;
        woken_self_ = shared_from_this(); // alive until the task has run
        worker_->post([this] {
            std::shared_ptr<RequestWaiter> self = std::move(woken_self_);
            RequestFsm* request = request_;
            if (request == nullptr) {
                return;
            }
            // While request_ is set the request holds this waiter: the task's reference goes
            // first, so that the request may recycle the waiter from inside the call.
            const cache::FillResult outcome = result_;
            self.reset();
            request->on_fill_result(outcome);
        });
    }

    void more() override {
        // Sequentially consistent with the stream's fill mark: either this sees the flag
        // cleared and queues a wake-up, or the queued one reads the new mark after clearing it.
        if (scheduled_.exchange(true)) {
            return;
        }
        more_self_ = shared_from_this(); // the flag keeps other more() calls off it
        worker_->post([this] {
            std::shared_ptr<RequestWaiter> self = std::move(more_self_);
            scheduled_.store(false);
            if (request_ != nullptr) {
                request_->pump_stream();
            }
        });
    }

    // On the request's thread: it stopped waiting or streaming; a late wake finds nobody.
    void forget_request() { request_ = nullptr; }

private:
    net::Worker* worker_;
    RequestFsm* request_;      // on worker_'s thread only
    cache::FillResult result_; // written once, by wake(), before its task is posted
    std::shared_ptr<RequestWaiter> woken_self_; // from wake() to its task
    std::shared_ptr<RequestWaiter> more_self_;  // from more() to its task
    std::atomic<bool> scheduled_{false};
};

} // namespace lacquer::proxy
