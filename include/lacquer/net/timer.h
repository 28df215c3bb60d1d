#pragma once
// A one-shot timer on a worker's loop; re-armed with arm(), cancelled with cancel() or by
// destruction. The callback runs on the worker's thread.

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
    event* event_;
    Callback callback_;
    void* arg_;
};

} // namespace lacquer::net
