#pragma once
// Time as the proxy sees it. Monotonic Instants for timeouts and ages; the wall clock only for
// Date headers and logs. Code that decides (freshness, timeouts) takes `now` as an argument.

#include <chrono>
#include <cstdint>

namespace lacquer::core {

using Instant = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
using Millis = std::chrono::milliseconds;

// Injected wherever code reads the time, so tests can drive it.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Instant now() const = 0;
    virtual std::int64_t unix_seconds() const = 0;
};

class SystemClock final : public Clock {
public:
    Instant now() const override { return std::chrono::steady_clock::now(); }
    std::int64_t unix_seconds() const override;
};

// A clock that only moves when told to (tests).
class ManualClock final : public Clock {
public:
    explicit ManualClock(Instant start = Instant{} + std::chrono::hours(1),
                         std::int64_t unix = 1'700'000'000)
        : now_(start), unix_(unix) {}
    Instant now() const override { return now_; }
    std::int64_t unix_seconds() const override { return unix_; }
    void advance(Duration by) {
        now_ += by;
        unix_ += std::chrono::duration_cast<std::chrono::seconds>(by).count();
    }

private:
    Instant now_;
    std::int64_t unix_;
};

} // namespace lacquer::core
