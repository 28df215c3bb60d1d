#pragma once
// Gates and barriers: how tests order events across threads without sleeping (VTC barriers).
// All of them share one process-wide lock and condition variable (see wait_hub) so that a
// ScriptedOrigin being destroyed can wake a handler blocked on any gate, whoever owns the gate.
// Waits are always bounded and say, by returning false, that they did not get what they wanted.

#include "support/deadline.h"

#include <memory>

namespace lacquer::test {

// Starts closed; open() lets every present and future waiter through until close() re-arms it.
// Destroying a gate wakes its waiters (their wait_for returns false) and waits until they leave,
// so a handler blocked on a gate that the test declared after the origin cannot touch freed memory.
class Gate {
public:
    Gate() = default;
    ~Gate();
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    void open();
    void close();
    bool is_open() const;

    // True once the gate is open. False on timeout, when the gate is destroyed, or when the calling
    // thread belongs to a ScriptedOrigin that is shutting down.
    [[nodiscard]] bool wait_for(Millis timeout);

    // Threads currently blocked in wait_for(): lets a test know a handler has reached the gate.
    int waiting() const;
    [[nodiscard]] bool wait_for_waiters(int count, Millis timeout) const;

private:
    bool open_ = false;
    bool destroyed_ = false;
    int waiters_ = 0;
};

// A one-shot meeting point for `parties` arrivals. Destruction cancels waiters like Gate.
class Barrier {
public:
    explicit Barrier(int parties) : parties_(parties) {}
    ~Barrier();
    Barrier(const Barrier&) = delete;
    Barrier& operator=(const Barrier&) = delete;

    // Counts one arrival without waiting (e.g. a handler saying "I got here").
    void arrive();
    // Arrives, then waits until all parties have arrived. False on timeout or cancellation.
    [[nodiscard]] bool arrive_and_wait(Millis timeout);
    // Waits until all parties have arrived without arriving itself (the test's side).
    [[nodiscard]] bool wait_for(Millis timeout);
    int arrived() const;

private:
    [[nodiscard]] bool wait_full(Millis timeout);

    const int parties_;
    int arrived_ = 0;
    bool destroyed_ = false;
    int waiters_ = 0;
};

namespace detail {

// Set by a ScriptedOrigin on the threads it runs handlers on; once stopped, every gate, barrier and
// OriginExchange::sleep_for on those threads gives up at once.
struct StopFlag {
    bool stopped = false; // guarded by the wait hub lock
};

void set_thread_stop_flag(std::shared_ptr<StopFlag> flag);
void raise_stop_flag(StopFlag& flag);

// Sleeps up to `timeout` unless the calling thread's stop flag is raised; true if it slept fully.
bool interruptible_sleep(Millis timeout);

} // namespace detail

} // namespace lacquer::test
