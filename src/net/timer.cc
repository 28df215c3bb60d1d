#include "lacquer/net/timer.h"

#include "lacquer/core/assert.h"
#include "lacquer/net/worker.h"

#include <event2/event.h>

namespace lacquer::net {

Timer::Timer(Worker& worker, Callback callback, void* arg)
    : worker_(worker), callback_(callback), arg_(arg) {}

Timer::~Timer() {
    if (event_ != nullptr) {
        event_free(event_);
    }
}

void Timer::arm(core::Millis after) {
    if (event_ == nullptr) {
        event_ = event_new(worker_.base(), -1, 0, &Timer::on_fire, this);
        LACQUER_ASSERT(event_ != nullptr);
    }
    const timeval tv{static_cast<time_t>(after.count() / 1000),
                     static_cast<suseconds_t>((after.count() % 1000) * 1000)};
    event_base_update_cache_time(event_get_base(event_));
    event_add(event_, &tv);
}

void Timer::cancel() {
    if (event_ != nullptr) {
        event_del(event_);
    }
}

bool Timer::armed() const {
    return event_ != nullptr && event_pending(event_, EV_TIMEOUT, nullptr) != 0;
}

void Timer::on_fire(int, short, void* arg) {
    auto* self = static_cast<Timer*>(arg);
    self->callback_(self->arg_);
}

} // namespace lacquer::net
