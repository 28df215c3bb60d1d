#include "lacquer/core/clock.h"

#include "lacquer/core/assert.h"

#include <ctime>

namespace lacquer::core {

std::int64_t SystemClock::unix_seconds() const {
    return static_cast<std::int64_t>(std::time(nullptr));
}

const Clock& system_clock() {
    static const SystemClock kClock;
    return kClock;
}

void ManualClock::advance(Duration by) {
    LACQUER_ASSERT(by.count() >= 0);
    advanced_.fetch_add(by.count(), std::memory_order_acq_rel);
}

} // namespace lacquer::core
