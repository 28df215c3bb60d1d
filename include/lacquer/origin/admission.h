#pragma once
// The admission limit of one origin pool (`max_in_flight`), process-wide: every worker's copy of
// the pool enters and leaves the same Admission, so the origin tier never sees more than the limit
// from this lacquerd, whatever the worker count. Over the limit an exchange waits in one FIFO
// queue (at most `max_queue`; its own worker times the wait, `queue_timeout`); a slot that frees
// on any worker is handed to the oldest waiter (the count does not drop in between, so a newcomer
// cannot overtake), whose worker is woken with Worker::post. One mutex guards the count and the
// queue; it is held for a few instructions, never across I/O or a post.
// Thread: any, except where a method says "the ticket's worker".

#include "lacquer/net/worker.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

namespace lacquer::origin {

class AdmissionTicket;

class AdmissionWaiter {
public:
    // On the ticket's worker: a slot is the waiter's now (it must leave() it when done).
    virtual void admitted(AdmissionTicket& ticket) = 0;

protected:
    ~AdmissionWaiter() = default;
};

// One queued wait. Shared by the queue and the wake-up task; the waiter forgets it (on its own
// worker) when it stops waiting, so a late wake-up finds nobody.
class AdmissionTicket {
public:
    AdmissionTicket(net::Worker& worker, AdmissionWaiter& waiter)
        : worker_(worker), waiter_(&waiter) {}
    void forget_waiter() { waiter_ = nullptr; } // the ticket's worker

private:
    friend class Admission;
    net::Worker& worker_;
    AdmissionWaiter* waiter_; // the ticket's worker only
    bool queued_ = false;     // guarded by Admission::mutex_
};

class Admission {
public:
    Admission(std::uint32_t max_in_flight, std::uint32_t max_queue)
        : max_in_flight_(max_in_flight), max_queue_(max_queue) {}
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

    bool limited() const { return max_in_flight_ > 0; }

    enum class Entry : std::uint8_t {
        Admitted, // a slot is the caller's
        Queued,   // `ticket` waits; AdmissionWaiter::admitted comes on `worker`
        Full,     // at the limit and the queue is full: refuse now
    };
    // Precondition: limited().
    Entry enter(net::Worker& worker, AdmissionWaiter& waiter,
                std::shared_ptr<AdmissionTicket>& ticket);
    // The ticket's worker, giving up a wait (timeout, cancel). True when it was still queued;
    // false when a slot was handed to it meanwhile: the caller holds that slot now.
    bool withdraw(AdmissionTicket& ticket);
    // A slot ends: the oldest waiter gets it, else the count drops.
    void leave();

    // For gauges and tests.
    std::uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
    std::uint32_t queued() const { return queued_.load(std::memory_order_relaxed); }

private:
    const std::uint32_t max_in_flight_;
    const std::uint32_t max_queue_;
    std::mutex mutex_;
    std::deque<std::shared_ptr<AdmissionTicket>> queue_; // guarded by mutex_
    // Written under mutex_, read by gauges without it.
    std::atomic<std::uint32_t> in_flight_{0};
    std::atomic<std::uint32_t> queued_{0};
};

} // namespace lacquer::origin
