#pragma once
// A one-shot timer on a worker's loop; re-armed with arm(), cancelled with cancel() or by
// destruction. The callback runs on the worker's thread. Its libevent event is made by the first
// arm(): a timer that never runs (an origin fetch's, on a connection that only gets hits) costs
// nothing beyond itself.

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
