// Worker::post: tasks from other threads all run, in order per thread, however they bunch up
// (only the post that finds the queue empty wakes the loop); a post from the loop's own thread
// runs after the current callback, without a wake-up.
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
