#include "lacquer/core/clock.h"

#include <ctime>

namespace lacquer::core {

std::int64_t SystemClock::unix_seconds() const {
    return static_cast<std::int64_t>(std::time(nullptr));
}

} // namespace lacquer::core
