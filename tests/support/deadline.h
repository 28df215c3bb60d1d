#pragma once
// A point in time after which a test stops waiting. Every blocking call in the support library
// takes a timeout and turns it into one of these, so no wait can hang a test run.

#include <algorithm>
#include <chrono>
#include <thread>

namespace lacquer::test {

// Timeouts read best as literals (5s, 250ms); tests of the support library live in this namespace.
using namespace std::chrono_literals;

using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class Deadline {
public:
    explicit Deadline(Millis timeout) : at_(SteadyClock::now() + timeout) {}

    SteadyClock::time_point at() const { return at_; }
    bool expired() const { return SteadyClock::now() >= at_; }

    // Time left, never negative.
    Millis remaining() const {
        const auto left = std::chrono::duration_cast<Millis>(at_ - SteadyClock::now());
        return std::max(left, Millis(0));
    }

    // Time left as a poll(2) timeout, rounded up so that poll never spins on a sub-millisecond
    // rest.
    int poll_timeout_ms() const {
        const auto left = at_ - SteadyClock::now();
        if (left <= SteadyClock::duration::zero()) {
            return 0;
        }
        return static_cast<int>(std::chrono::ceil<Millis>(left).count());
    }

private:
    SteadyClock::time_point at_;
};

// Polls `done` until it holds or `timeout` passes; true when it held. Only for states that no
// event announces (another thread's bookkeeping after the bytes a test can see); a gate, a
// barrier or a metric is the better wait when there is one. The pause between polls is short.
template <typename Predicate> [[nodiscard]] bool eventually(Millis timeout, Predicate done) {
    const Deadline deadline(timeout);
    while (!done()) {
        if (deadline.expired()) {
            return done();
        }
        std::this_thread::sleep_for(std::min(Millis(10), deadline.remaining()));
    }
    return true;
}

} // namespace lacquer::test
