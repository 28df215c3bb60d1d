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
        // Kept here rather than in the posted call, which carries the reference alone;
        // post() orders this write before the call's read. One wake per waiter. The queue owns
        // the reference (not a self-reference in the waiter: a call a stopping worker drops
        // unrun must let the waiter go, or it leaks), and posting it allocates nothing.
        result_ = result;
        worker_->post(&RequestWaiter::deliver_result, shared_from_this());
    }

    void more() override {
        // Sequentially consistent with the stream's fill mark: either this sees the flag
        // cleared and queues a wake-up, or the queued one reads the new mark after clearing it.
        if (scheduled_.exchange(true)) {
            return;
        }
        worker_->post(&RequestWaiter::deliver_more, shared_from_this());
    }

    // On the request's thread: it stopped waiting or streaming; a late wake finds nobody.
    void forget_request() { request_ = nullptr; }

private:
    // The posted calls, on the request's thread; `owner` is the waiter's reference.
    static void deliver_result(std::shared_ptr<void> owner) {
        auto waiter = std::static_pointer_cast<RequestWaiter>(std::move(owner));
        RequestFsm* request = waiter->request_;
        if (request == nullptr) {
            return;
        }
        // While request_ is set the request holds this waiter: the call's reference goes
        // first, so that the request may recycle the waiter from inside the call.
        const cache::FillResult outcome = waiter->result_;
        waiter.reset();
        request->on_fill_result(outcome);
    }
    static void deliver_more(std::shared_ptr<void> owner) {
        auto waiter = std::static_pointer_cast<RequestWaiter>(std::move(owner));
        waiter->scheduled_.store(false);
        if (RequestFsm* request = waiter->request_; request != nullptr) {
            waiter.reset(); // the request holds it (see deliver_result)
            request->pump_stream();
        }
    }

    net::Worker* worker_;
    RequestFsm* request_;      // on worker_'s thread only
    cache::FillResult result_; // written once, by wake(), before its task is posted
    std::atomic<bool> scheduled_{false};
};

} // namespace lacquer::proxy
