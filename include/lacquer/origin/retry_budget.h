#pragma once
// A pool's retry budget, shared by every worker: retries may add at most `percent` of the
// pool's requests over the last kWindowSeconds (whole seconds, sliding), and at least
// kMinRetries in that window, so that a quiet pool still retries while an outage is never
// amplified (Finagle's RetryBudget, Envoy's retry budget). Lock-free: one 64-bit word per second
// (its second, requests, retries) updated by compare-and-swap. The check and the spending are two
// steps, so workers racing for the last retry may pass the bound by at most one each.
// Thread: any.

#include "lacquer/core/clock.h"

#include <array>
#include <atomic>
#include <cstdint>

namespace lacquer::origin {

class RetryBudget {
public:
    static constexpr std::int64_t kWindowSeconds = 10;
    static constexpr std::uint32_t kMinRetries = 10; // per window

    explicit RetryBudget(std::uint32_t percent) : percent_(percent) {}
    RetryBudget(const RetryBudget&) = delete;
    RetryBudget& operator=(const RetryBudget&) = delete;

    // A first attempt (not a retry) started.
    void record_request(core::Instant now);
    // True, and the retry is counted, when the window has room for one more.
    [[nodiscard]] bool try_retry(core::Instant now);

    struct Window {
        std::uint64_t requests = 0;
        std::uint64_t retries = 0;
    };
    Window window(core::Instant now) const;
    std::uint64_t allowed(const Window& w) const;

private:
    static constexpr std::uint64_t kCountBits = 20;
    static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
    static constexpr std::uint64_t kSecondMask = (std::uint64_t{1} << 24) - 1;

    static std::uint64_t second_of(core::Instant now);
    void add(std::uint64_t second, std::uint64_t requests, std::uint64_t retries);

    std::uint32_t percent_;
    // [second % kWindowSeconds]: second (24 bits) | requests (20) | retries (20)
    std::array<std::atomic<std::uint64_t>, kWindowSeconds> seconds_{};
};

} // namespace lacquer::origin
