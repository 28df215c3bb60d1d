#include "lacquer/origin/retry_budget.h"

#include <algorithm>

namespace lacquer::origin {

std::uint64_t RetryBudget::second_of(core::Instant now) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    return static_cast<std::uint64_t>(s.count()) & kSecondMask;
}

void RetryBudget::add(std::uint64_t second, std::uint64_t requests, std::uint64_t retries) {
    std::atomic<std::uint64_t>& slot =
        seconds_[static_cast<std::size_t>(second % static_cast<std::uint64_t>(kWindowSeconds))];
    std::uint64_t old = slot.load(std::memory_order_relaxed);
    for (;;) {
        std::uint64_t req = 0;
        std::uint64_t ret = 0;
        if ((old >> (2 * kCountBits)) == second) { // else the slot holds an older second
            req = (old >> kCountBits) & kCountMask;
            ret = old & kCountMask;
        }
        req = std::min(req + requests, kCountMask);
        ret = std::min(ret + retries, kCountMask);
        const std::uint64_t next = (second << (2 * kCountBits)) | (req << kCountBits) | ret;
        if (slot.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
            return;
        }
    }
}

void RetryBudget::record_request(core::Instant now) {
    add(second_of(now), 1, 0);
}

RetryBudget::Window RetryBudget::window(core::Instant now) const {
    const std::uint64_t current = second_of(now);
    Window w;
    for (const std::atomic<std::uint64_t>& slot : seconds_) {
        const std::uint64_t v = slot.load(std::memory_order_relaxed);
        const std::uint64_t age = (current - (v >> (2 * kCountBits))) & kSecondMask;
        if (v != 0 && age < static_cast<std::uint64_t>(kWindowSeconds)) {
            w.requests += (v >> kCountBits) & kCountMask;
            w.retries += v & kCountMask;
        }
    }
    return w;
}

std::uint64_t RetryBudget::allowed(const Window& w) const {
    return std::max<std::uint64_t>(kMinRetries, w.requests * percent_ / 100);
}

bool RetryBudget::try_retry(core::Instant now) {
    const Window w = window(now);
    if (w.retries >= allowed(w)) {
        return false;
    }
    add(second_of(now), 0, 1);
    return true;
}

} // namespace lacquer::origin
