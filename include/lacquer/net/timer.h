#pragma once
// A one-shot timer on a worker's loop; re-armed with arm(), cancelled with cancel() or by
// destruction. The callback runs on the worker's thread. Its libevent event is made by the first
// arm(): a timer that never runs (an origin fetch's, on a connection that only gets hits) costs
// nothing beyond itself.
// Timers measure real time (libevent's monotonic clock) whatever clock the worker was given:
// they bound waits for I/O, which tests drive with real sockets. A ManualClock moves only
// Worker::now() and what is decided from it (ages, TTLs, stale windows, hit-for-miss, purge
// marks, deadlines computed from now()).

#include "lacquer/core/clock.h"

struct event;

namespace lacquer::net {

class Worker;

class Timer {
public:
    using Callback = void (*)(void* arg);
    Timer(Worker& worker, Callback callback, void* arg);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // Fires `after` from this call, even late in a long batch of callbacks (libevent would count
    // from its time cache, taken when the loop's wait ended, and fire early by the batch).
    void arm(core::Millis after);
    void cancel();
    bool armed() const;

private:
    static void on_fire(int fd, short what, void* arg);
    Worker& worker_;
    event* event_ = nullptr;
    Callback callback_;
    void* arg_;
};

} // namespace lacquer::net
