// Admission (max_in_flight with a bounded FIFO queue), process-wide: entering, queueing, the
// handoff of a freed slot to the oldest waiter on its own worker, withdrawing, and a storm of
// threads that never holds more slots than the limit.
#include "lacquer/origin/admission.h"
#include "loopback_origin.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace lacquer::origin {
namespace {

using loopback::run_until;
using loopback::settle;

struct Waiter final : AdmissionWaiter {
    int admitted_count = 0;
    void admitted(AdmissionTicket&) override { ++admitted_count; }
};

TEST(Admission, AdmitsUpToTheLimitThenQueuesThenRefuses) {
    net::Worker worker(0);
    Admission a(2, 1);
    Waiter w;
    std::shared_ptr<AdmissionTicket> t;
    EXPECT_EQ(a.enter(worker, w, t), Admission::Entry::Admitted);
    EXPECT_EQ(a.enter(worker, w, t), Admission::Entry::Admitted);
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(a.enter(worker, w, t), Admission::Entry::Queued);
    ASSERT_NE(t, nullptr);
    std::shared_ptr<AdmissionTicket> refused;
    EXPECT_EQ(a.enter(worker, w, refused), Admission::Entry::Full);
    EXPECT_EQ(refused, nullptr);
    EXPECT_EQ(a.in_flight(), 2u);
    EXPECT_EQ(a.queued(), 1u);
}

TEST(Admission, AFreedSlotGoesToTheOldestWaiterOnItsWorker) {
    net::Worker worker(0);
    Admission a(1, 4);
    Waiter first;
    Waiter second;
    Waiter newcomer;
    std::shared_ptr<AdmissionTicket> none;
    std::shared_ptr<AdmissionTicket> t1;
    std::shared_ptr<AdmissionTicket> t2;
    ASSERT_EQ(a.enter(worker, newcomer, none), Admission::Entry::Admitted);
    ASSERT_EQ(a.enter(worker, first, t1), Admission::Entry::Queued);
    ASSERT_EQ(a.enter(worker, second, t2), Admission::Entry::Queued);
    a.leave(); // handed to `first`: the count stays, a newcomer waits behind the queue
    EXPECT_EQ(a.in_flight(), 1u);
    EXPECT_EQ(a.queued(), 1u);
    std::shared_ptr<AdmissionTicket> t3;
    EXPECT_EQ(a.enter(worker, newcomer, t3), Admission::Entry::Queued);
    EXPECT_EQ(first.admitted_count, 0); // posted, not called in place
    EXPECT_TRUE(run_until(worker, [&] { return first.admitted_count == 1; }));
    EXPECT_EQ(second.admitted_count, 0);

    // `second` gives up; the next slot skips it.
    EXPECT_TRUE(a.withdraw(*t2));
    t2->forget_waiter();
    a.leave();
    EXPECT_TRUE(run_until(worker, [&] { return newcomer.admitted_count == 1; }));
    EXPECT_EQ(second.admitted_count, 0);
    a.leave();
    EXPECT_EQ(a.in_flight(), 0u);
    EXPECT_EQ(a.queued(), 0u);
}

TEST(Admission, WithdrawAfterTheHandoffSaysTheSlotIsHeldAndALateWakeFindsNobody) {
    net::Worker worker(0);
    Admission a(1, 4);
    Waiter holder;
    Waiter late;
    std::shared_ptr<AdmissionTicket> none;
    std::shared_ptr<AdmissionTicket> t;
    ASSERT_EQ(a.enter(worker, holder, none), Admission::Entry::Admitted);
    ASSERT_EQ(a.enter(worker, late, t), Admission::Entry::Queued);
    a.leave();                    // handed to `late`, wake-up posted
    EXPECT_FALSE(a.withdraw(*t)); // too late to withdraw: `late` holds the slot
    t->forget_waiter();
    settle(worker);
    EXPECT_EQ(late.admitted_count, 0);
    EXPECT_EQ(a.in_flight(), 1u);
    a.leave(); // `late` gives it back
    EXPECT_EQ(a.in_flight(), 0u);
}

// Threads enter and leave at random; a slot is never held by more than the limit, and every
// waiter is admitted on its own worker.
TEST(Admission, ManyThreadsNeverHoldMoreThanTheLimit) {
    constexpr std::uint32_t kLimit = 3;
    constexpr int kThreads = 4;
    constexpr int kRounds = 300;
    Admission a(kLimit, 1000);
    std::atomic<int> holding{0};
    std::atomic<int> most{0};
    auto hold = [&] {
        const int now = ++holding;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --holding;
        a.leave();
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            net::Worker worker(static_cast<unsigned>(t));
            struct Mine final : AdmissionWaiter {
                bool in = false;
                void admitted(AdmissionTicket&) override { in = true; }
            } mine;
            for (int i = 0; i < kRounds; ++i) {
                std::shared_ptr<AdmissionTicket> ticket;
                mine.in = false;
                switch (a.enter(worker, mine, ticket)) {
                case Admission::Entry::Admitted:
                    mine.in = true;
                    break;
                case Admission::Entry::Queued:
                    ASSERT_TRUE(run_until(worker, [&] { return mine.in; }));
                    ticket->forget_waiter();
                    break;
                case Admission::Entry::Full:
                    FAIL() << "the queue holds every thread";
                }
                hold();
            }
            settle(worker);
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    EXPECT_LE(most.load(), static_cast<int>(kLimit));
    EXPECT_EQ(a.in_flight(), 0u);
    EXPECT_EQ(a.queued(), 0u);
}

} // namespace
} // namespace lacquer::origin
