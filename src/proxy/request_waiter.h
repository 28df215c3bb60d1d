#pragma once
// Wakes a request on its own worker, for a coalesced wait (once) and for a stream's news (each
// time it has more, at most one wake-up queued at a time). The request forgets it (request_ =
// nullptr, on that same thread) when it stops waiting or streaming, so a late wake finds nobody.

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
    RequestWaiter(net::Worker& worker, RequestFsm* request) : worker_(worker), request_(request) {}

    void wake(const cache::FillResult& result) override {
        // Kept here rather than in the task, whose capture then fits std::function's own
        // storage (no allocation per wake); post() orders this write before the task's read.
        result_ = result;
        worker_.post([self = shared_from_this()] {
            if (self->request_ != nullptr) {
                self->request_->on_fill_result(self->result_);
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
            if (self->request_ != nullptr) {
                self->request_->pump_stream();
            }
        });
    }

    // On the request's thread: it stopped waiting or streaming; a late wake finds nobody.
    void forget_request() { request_ = nullptr; }

private:
    net::Worker& worker_;
    RequestFsm* request_;      // on worker_'s thread only
    cache::FillResult result_; // written once, by wake(), before its task is posted
    std::atomic<bool> scheduled_{false};
};

} // namespace lacquer::proxy
