// One lock and one condition variable for every gate and barrier in the process. Contention is
// irrelevant in tests, and a single condition variable is what lets one notify_all() wake a thread
// whatever it is waiting on: a gate, a barrier or the shutdown of the origin that runs it.
#include "support/gate.h"

#include <condition_variable>
#include <mutex>

namespace lacquer::test {

namespace {

struct WaitHub {
    std::mutex mutex;
    std::condition_variable changed;
};

WaitHub& hub() {
    static WaitHub instance;
    return instance;
}

thread_local std::shared_ptr<detail::StopFlag> thread_stop_flag;

// Requires the hub lock.
bool thread_stopped() {
    return thread_stop_flag && thread_stop_flag->stopped;
}

} // namespace

Gate::~Gate() {
    std::unique_lock lock(hub().mutex);
    destroyed_ = true;
    hub().changed.notify_all();
    hub().changed.wait(lock, [&] { return waiters_ == 0; });
}

void Gate::open() {
    const std::lock_guard lock(hub().mutex);
    open_ = true;
    hub().changed.notify_all();
}

void Gate::close() {
    const std::lock_guard lock(hub().mutex);
    open_ = false;
}

bool Gate::is_open() const {
    const std::lock_guard lock(hub().mutex);
    return open_;
}

bool Gate::wait_for(Millis timeout) {
    const Deadline deadline(timeout);
    std::unique_lock lock(hub().mutex);
    ++waiters_;
    hub().changed.notify_all(); // wait_for_waiters() watches the count
    hub().changed.wait_until(lock, deadline.at(),
                             [&] { return open_ || destroyed_ || thread_stopped(); });
    const bool opened = open_ && !destroyed_;
    --waiters_;
    hub().changed.notify_all(); // the destructor may be waiting for us to leave
    return opened;
}

int Gate::waiting() const {
    const std::lock_guard lock(hub().mutex);
    return waiters_;
}

bool Gate::wait_for_waiters(int count, Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(hub().mutex);
    return hub().changed.wait_until(lock, deadline.at(), [&] { return waiters_ >= count; });
}

Barrier::~Barrier() {
    std::unique_lock lock(hub().mutex);
    destroyed_ = true;
    hub().changed.notify_all();
    hub().changed.wait(lock, [&] { return waiters_ == 0; });
}

void Barrier::arrive() {
    const std::lock_guard lock(hub().mutex);
    ++arrived_;
    hub().changed.notify_all();
}

bool Barrier::arrive_and_wait(Millis timeout) {
    arrive();
    return wait_full(timeout);
}

bool Barrier::wait_for(Millis timeout) {
    return wait_full(timeout);
}

int Barrier::arrived() const {
    const std::lock_guard lock(hub().mutex);
    return arrived_;
}

bool Barrier::wait_full(Millis timeout) {
    const Deadline deadline(timeout);
    std::unique_lock lock(hub().mutex);
    ++waiters_;
    hub().changed.wait_until(lock, deadline.at(), [&] {
        return arrived_ >= parties_ || destroyed_ || thread_stopped();
    });
    const bool full = arrived_ >= parties_ && !destroyed_;
    --waiters_;
    hub().changed.notify_all();
    return full;
}

namespace detail {

void set_thread_stop_flag(std::shared_ptr<StopFlag> flag) {
    const std::lock_guard lock(hub().mutex);
    thread_stop_flag = std::move(flag);
}

void raise_stop_flag(StopFlag& flag) {
    const std::lock_guard lock(hub().mutex);
    flag.stopped = true;
    hub().changed.notify_all();
}

bool interruptible_sleep(Millis timeout) {
    const Deadline deadline(timeout);
    std::unique_lock lock(hub().mutex);
    hub().changed.wait_until(lock, deadline.at(), [&] { return thread_stopped(); });
    return !thread_stopped();
}

} // namespace detail

} // namespace lacquer::test
