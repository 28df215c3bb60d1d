#include "lacquer/net/timer.h"

#include "lacquer/core/assert.h"
#include "lacquer/net/worker.h"

#include <event2/event.h>

namespace lacquer::net {

Timer::Timer(Worker& worker, Callback callback, void* arg)
    : event_(event_new(worker.base(), -1, 0, &Timer::on_fire, this)), callback_(callback),
      arg_(arg) {
    LACQUER_ASSERT(event_ != nullptr);
}

Timer::~Timer() {
    event_free(event_);
}

void Timer::arm(core::Millis after) {
    const timeval tv{static_cast<time_t>(after.count() / 1000),
                     static_cast<suseconds_t>((after.count() % 1000) * 1000)};
    event_base_update_cache_time(event_get_base(event_));
    event_add(event_, &tv);
}

void Timer::cancel() {
    event_del(event_);
}

bool Timer::armed() const {
    return event_pending(event_, EV_TIMEOUT, nullptr) != 0;
}

void Timer::on_fire(int, short, void* arg) {
    auto* self = static_cast<Timer*>(arg);
    self->callback_(self->arg_);
}

} // namespace lacquer::net
