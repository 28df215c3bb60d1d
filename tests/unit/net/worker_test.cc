// Worker::post: tasks from other threads all run, in order per thread, however they bunch up
// (only the post that finds the queue empty wakes the loop); a post from the loop's own thread
// runs after the current callback, without a wake-up.
// Worker::now: one value per loop turn from the injected clock, read after the turn's wait.
// Timer::arm: the delay counts from the call, even late in a long batch of callbacks.
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

bool wait_for(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    return done();
}

TEST(WorkerPost, EveryTaskFromManyThreadsRunsInOrderPerThread) {
    Worker worker(0);
    worker.start(nullptr);
    constexpr int kThreads = 4;
    constexpr int kTasks = 20000;
    std::vector<int> last(kThreads, -1); // touched on the worker's thread only
    std::atomic<int> ran{0};
    std::atomic<int> out_of_order{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t) {
        posters.emplace_back([&, t] {
            for (int i = 0; i < kTasks; ++i) {
                worker.post([&, t, i] {
                    if (last[t] != i - 1) {
                        out_of_order.fetch_add(1);
                    }
                    last[t] = i;
                    ran.fetch_add(1);
                });
            }
        });
    }
    for (std::thread& p : posters) {
        p.join();
    }
    EXPECT_TRUE(wait_for([&] { return ran.load() == kThreads * kTasks; })) << ran.load();
    EXPECT_EQ(out_of_order.load(), 0);
    worker.stop();
    worker.join();
}

// post(call, owner): the call gets the reference, in order with the other tasks; a call the
// stopping worker never ran lets its owner go with the worker.
struct Counted {
    std::atomic<int>* calls;
    std::vector<int>* order;
    int n;
};

TEST(WorkerPost, AnOwnedCallRunsInOrderAndADroppedOneReleasesItsOwner) {
    auto owned = std::make_unique<Worker>(0);
    Worker& worker = *owned;
    worker.start(nullptr);
    std::atomic<int> calls{0};
    std::vector<int> order; // the worker's thread only
    const Worker::OwnedCall call = [](std::shared_ptr<void> owner) {
        auto c = std::static_pointer_cast<Counted>(std::move(owner));
        c->order->push_back(c->n);
        c->calls->fetch_add(1);
    };
    worker.post(call, std::make_shared<Counted>(Counted{&calls, &order, 1}));
    worker.post([&] {
        order.push_back(2);
        calls.fetch_add(1);
    });
    worker.post(call, std::make_shared<Counted>(Counted{&calls, &order, 3}));
    ASSERT_TRUE(wait_for([&] { return calls.load() == 3; }));
    worker.stop();
    worker.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));

    // Posted after the loop ended: never run, released when the worker goes.
    std::weak_ptr<Counted> dropped;
    {
        auto owner = std::make_shared<Counted>(Counted{&calls, &order, 4});
        dropped = owner;
        worker.post(call, std::move(owner));
    }
    EXPECT_FALSE(dropped.expired()); // the queue holds it
    owned.reset();
    EXPECT_TRUE(dropped.expired());
    EXPECT_EQ(calls.load(), 3);
}

TEST(WorkerPost, APostFromTheLoopRunsAfterTheCurrentCallback) {
    Worker worker(0);
    std::vector<int> order; // the worker's thread only
    std::atomic<bool> done{false};
    worker.start(nullptr);
    worker.post([&] {
        worker.post([&] {
            order.push_back(2);
            worker.post([&] {
                order.push_back(3);
                done.store(true);
            });
        });
        order.push_back(1); // before the task it posted
    });
    ASSERT_TRUE(wait_for([&] { return done.load(); }));
    worker.stop();
    worker.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// A loop that only ever hears from its own thread still runs those tasks when it is otherwise
// idle: the local post must not depend on an eventfd write that never came.
TEST(WorkerPost, LocalPostsRunWhileTheLoopIsIdle) {
    Worker worker(0);
    std::atomic<int> ran{0};
    struct Chain {
        Worker* worker;
        std::atomic<int>* ran;
        static void fire(void* arg) {
            auto* self = static_cast<Chain*>(arg);
            self->worker->post([self] { self->ran->fetch_add(1); });
        }
    } chain{&worker, &ran};
    Timer timer(worker, &Chain::fire, &chain);
    worker.start([&] { timer.arm(core::Millis(20)); });
    EXPECT_TRUE(wait_for([&] { return ran.load() == 1; }));
    worker.stop();
    worker.join();
}

// Runs `task` on the worker and waits for it: one turn of the loop, woken by the eventfd.
void run_turn(Worker& worker, const std::function<void()>& task) {
    std::atomic<bool> done{false};
    worker.post([&] {
        task();
        done.store(true);
    });
    ASSERT_TRUE(wait_for([&] { return done.load(); }));
}

TEST(WorkerNow, OneValuePerLoopTurnFromTheInjectedClock) {
    core::ManualClock clock;
    const core::Instant start = clock.now();
    const std::int64_t unix_start = clock.unix_seconds();
    Worker worker(0, clock);
    worker.start(nullptr);
    core::Instant first{};
    core::Instant same_turn{};
    core::Instant posted_in_turn{};
    std::int64_t unix_in_turn = 0;
    std::atomic<bool> posted_ran{false};
    run_turn(worker, [&] {
        first = worker.now();
        clock.advance(std::chrono::seconds(5)); // the clock moves mid-turn...
        same_turn = worker.now();               // ...the turn's time does not
        unix_in_turn = worker.unix_now();
        worker.post([&] { // from the loop's thread: later in the same turn
            posted_in_turn = worker.now();
            posted_ran.store(true);
        });
    });
    ASSERT_TRUE(wait_for([&] { return posted_ran.load(); }));
    core::Instant next_turn{};
    std::int64_t unix_next_turn = 0;
    run_turn(worker, [&] {
        next_turn = worker.now();
        unix_next_turn = worker.unix_now();
    });
    worker.stop();
    worker.join();
    EXPECT_EQ(first, start);
    EXPECT_EQ(same_turn, start);
    EXPECT_EQ(posted_in_turn, start);
    EXPECT_EQ(unix_in_turn, unix_start);
    EXPECT_EQ(next_turn, start + std::chrono::seconds(5));
    EXPECT_EQ(unix_next_turn, unix_start + 5);
}

// The clock is read after the loop's wait, not before it: time that passes while the worker is
// idle is in the next turn's now().
TEST(WorkerNow, TimeSpentWaitingIsSeenByTheTurnThatFollows) {
    core::ManualClock clock;
    Worker worker(0, clock);
    worker.start(nullptr);
    core::Instant before{};
    run_turn(worker, [&] { before = worker.now(); });
    // The loop is blocked in its wait now (nothing is pending); the time moves meanwhile.
    clock.advance(std::chrono::minutes(10));
    core::Instant after{};
    run_turn(worker, [&] { after = worker.now(); });
    worker.stop();
    worker.join();
    EXPECT_EQ(after - before, std::chrono::minutes(10));
}

TEST(WorkerNow, DefaultsToTheSteadySystemClock) {
    Worker worker(0);
    worker.start(nullptr);
    core::Instant seen{};
    std::chrono::steady_clock::time_point around{};
    run_turn(worker, [&] {
        seen = worker.now();
        around = std::chrono::steady_clock::now();
    });
    worker.stop();
    worker.join();
    EXPECT_LE(seen, around);
    EXPECT_LT(around - seen, 1s);
}

// A callback that runs long, then arms a timer: the timer still waits its whole delay (libevent
// alone counts from when the loop's wait ended, and would fire at once here).
TEST(TimerArm, LateInALongBatchTheDelayCountsFromTheCall) {
    Worker worker(0);
    struct Fired {
        std::atomic<bool> done{false};
        std::chrono::steady_clock::time_point at{};
        static void fire(void* arg) {
            auto* self = static_cast<Fired*>(arg);
            self->at = std::chrono::steady_clock::now();
            self->done.store(true);
        }
    } fired;
    Timer timer(worker, &Fired::fire, &fired);
    worker.start(nullptr);
    std::chrono::steady_clock::time_point armed{};
    run_turn(worker, [&] {
        std::this_thread::sleep_for(300ms); // a long batch (deliberately, in a unit test)
        armed = std::chrono::steady_clock::now();
        timer.arm(core::Millis(200));
    });
    ASSERT_TRUE(wait_for([&] { return fired.done.load(); }));
    worker.stop();
    worker.join();
    // libevent's own clock is the coarse monotonic one: a few milliseconds of slack.
    EXPECT_GE(fired.at - armed, 190ms);
}

// A timer makes its libevent event on its first arm: one that is never armed, or cancelled
// before, is harmless; one armed later still fires.
TEST(Timer, NeverArmedIsHarmlessAndALateArmFires) {
    Worker worker(0);
    std::atomic<int> fired{0};
    auto fire = [](void* arg) { static_cast<std::atomic<int>*>(arg)->fetch_add(1); };
    {
        Timer unused(worker, fire, &fired);
        EXPECT_FALSE(unused.armed());
        unused.cancel();
    }
    Timer timer(worker, fire, &fired);
    EXPECT_FALSE(timer.armed());
    worker.start([&] {
        timer.arm(core::Millis(10));
        EXPECT_TRUE(timer.armed());
    });
    EXPECT_TRUE(wait_for([&] { return fired.load() == 1; }));
    worker.stop();
    worker.join();
    EXPECT_FALSE(timer.armed());
}

} // namespace
} // namespace lacquer::net
