#include "request_waiter.h"

#include "lacquer/core/sanitizers.h"

#include <vector>

namespace lacquer::proxy {

namespace {

// About the coalesced requests a worker has at once.
constexpr std::size_t kKeptWaiters = 256;
// ASan builds keep none (every waiter checked on its own); TSan builds do, so that the hand-over
// between threads that recycling relies on is checked.
#if defined(LACQUER_ASAN)
constexpr bool kRecycles = false;
#else
constexpr bool kRecycles = true;
#endif

thread_local std::vector<std::shared_ptr<RequestWaiter>> t_spare_waiters;

} // namespace

std::shared_ptr<RequestWaiter> RequestWaiter::make(net::Worker& worker, RequestFsm* request) {
    if (t_spare_waiters.empty()) {
        return std::make_shared<RequestWaiter>(worker, request);
    }
    std::shared_ptr<RequestWaiter> waiter = std::move(t_spare_waiters.back());
    t_spare_waiters.pop_back();
    waiter->worker_ = &worker;
    waiter->request_ = request;
    waiter->scheduled_.store(false);
    return waiter;
}

void RequestWaiter::recycle(std::shared_ptr<RequestWaiter>& waiter) {
    // use_count() == 1: only this thread holds it, and only a holder could hand out another
    // reference (wake and more are called by the coalescer and the stream, which hold one).
    if (kRecycles && waiter && waiter.use_count() == 1 && t_spare_waiters.size() < kKeptWaiters) {
        waiter->request_ = nullptr;
        waiter->result_ = cache::FillResult();
        if (t_spare_waiters.capacity() == 0) {
            t_spare_waiters.reserve(kKeptWaiters);
        }
        t_spare_waiters.push_back(std::move(waiter));
    }
    waiter.reset();
}

} // namespace lacquer::proxy
