#pragma once
// Time as the proxy sees it. Monotonic Instants for timeouts and ages; the wall clock (unix
// seconds) only for dates: Expires arithmetic and access-log timestamps. Code that decides
// (freshness, timeouts) takes `now` as an argument. Code on a worker reads the worker's cached
// now() (net/worker.h), which reads the worker's injected Clock once per loop turn.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace lacquer::core {

using Instant = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
using Millis = std::chrono::milliseconds;

// Injected wherever code reads the time, so tests can drive it. Every implementation may be
// read from any thread.
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

// The steady system clock, the default wherever a clock is injected. It has no state, so one
// shared instance is not a mutable global.
const Clock& system_clock();

// A clock that only moves when a test says so. Thread-safe: the test's thread advances it while
// workers and the admin thread read it. The wall clock moves with it: unix_seconds() is the
// start plus the whole seconds advanced so far, so two 500 ms steps make one second.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Instant start = Instant{} + std::chrono::hours(1),
                         std::int64_t unix = 1'700'000'000)
        : start_(start), unix_(unix) {}
    Instant now() const override { return start_ + advanced(); }
    std::int64_t unix_seconds() const override {
        return unix_ + std::chrono::duration_cast<std::chrono::seconds>(advanced()).count();
    }
    // Any thread. Time never goes back: a negative step is an error (asserts).
    void advance(Duration by);

private:
    Duration advanced() const { return Duration(advanced_.load(std::memory_order_acquire)); }

    const Instant start_;
    const std::int64_t unix_;
    std::atomic<Duration::rep> advanced_{0};
};

} // namespace lacquer::core
