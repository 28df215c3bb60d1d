#include "lacquer/origin/admission.h"

#include "lacquer/core/assert.h"

#include <algorithm>

namespace lacquer::origin {

Admission::Entry Admission::enter(net::Worker& worker, AdmissionWaiter& waiter,
                                  std::shared_ptr<AdmissionTicket>& ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint32_t busy = in_flight_.load(std::memory_order_relaxed);
    if (busy < max_in_flight_ && queue_.empty()) {
        in_flight_.store(busy + 1, std::memory_order_relaxed);
        return Entry::Admitted;
    }
    if (queue_.size() >= max_queue_) {
        return Entry::Full;
    }
    ticket = std::make_shared<AdmissionTicket>(worker, waiter);
    ticket->queued_ = true;
    queue_.push_back(ticket);
    queued_.store(static_cast<std::uint32_t>(queue_.size()), std::memory_order_relaxed);
    return Entry::Queued;
}

bool Admission::withdraw(AdmissionTicket& ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ticket.queued_) {
        return false; // leave() handed it a slot; the wake-up is on its way
    }
    ticket.queued_ = false;
    const auto it = std::find_if(queue_.begin(), queue_.end(),
                                 [&ticket](const auto& t) { return t.get() == &ticket; });
    LACQUER_ASSERT(it != queue_.end());
    queue_.erase(it);
    queued_.store(static_cast<std::uint32_t>(queue_.size()), std::memory_order_relaxed);
    return true;
}

void Admission::leave() {
    std::shared_ptr<AdmissionTicket> next;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (queue_.empty()) {
            const std::uint32_t busy = in_flight_.load(std::memory_order_relaxed);
            LACQUER_ASSERT(busy > 0);
            in_flight_.store(busy - 1, std::memory_order_relaxed);
            return;
        }
        next = std::move(queue_.front()); // the slot passes on: in_flight_ stays
        queue_.pop_front();
        next->queued_ = false;
        queued_.store(static_cast<std::uint32_t>(queue_.size()), std::memory_order_relaxed);
    }
    net::Worker& worker = next->worker_;
    worker.post([ticket = std::move(next)] {
        if (ticket->waiter_ != nullptr) {
            ticket->waiter_->admitted(*ticket);
        }
    });
}

} // namespace lacquer::origin
