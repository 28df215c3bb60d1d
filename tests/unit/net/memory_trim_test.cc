// When a worker gives memory back (net/memory_trim.h): after a wave of connections is over,
// or once it has gone quiet with something cached; never on the steady path.
#include "lacquer/net/memory_trim.h"
#include "lacquer/net/worker.h"

#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <thread>

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

TEST(MemoryTrim, AWaveIsOverWhenManyHaveClosedAndAtMostHalfAreLeft) {
    EXPECT_FALSE(wave_over({.connections = 0, .peak = 0, .freed_bytes = 0}));
    EXPECT_FALSE(wave_over({.connections = 64, .peak = 64, .freed_bytes = 0})); // steady
    // Churn of a few connections is no wave, however low the count goes.
    EXPECT_FALSE(wave_over({.connections = 0, .peak = kTrimDrop - 1, .freed_bytes = 0}));
    EXPECT_TRUE(wave_over({.connections = 0, .peak = kTrimDrop, .freed_bytes = 0}));
    EXPECT_TRUE(wave_over({.connections = 1500, .peak = 3000, .freed_bytes = 0}));
    EXPECT_FALSE(wave_over({.connections = 1501, .peak = 3000, .freed_bytes = 0}));
    // Requests that ended on connections that stay open.
    EXPECT_TRUE(wave_over({.connections = 3000, .peak = 3000, .freed_bytes = kTrimFreedBytes}));
    EXPECT_FALSE(wave_over({.connections = 10, .peak = 10, .freed_bytes = kTrimFreedBytes - 1}));
}

TEST(MemoryTrim, AQuietWorkerGivesBackOnlyWhenItHoldsSomething) {
    EXPECT_TRUE(quiet_with_memory(0, 1, 0));
    EXPECT_TRUE(quiet_with_memory(kQuietTurns, 0, 1));
    EXPECT_FALSE(quiet_with_memory(kQuietTurns + 1, 1 << 20, 1 << 20)); // busy
    EXPECT_FALSE(quiet_with_memory(0, 0, 0));                           // nothing to give
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    return done();
}

TEST(MemoryTrim, AWorkerGivesMemoryBackAfterAWaveOfConnections) {
    Worker worker(0);
    worker.start(nullptr);
    worker.post([&worker] {
        for (std::size_t i = 0; i < 2 * kTrimDrop; ++i) {
            worker.connection_opened();
        }
    });
    worker.post([&worker] {
        for (std::size_t i = 0; i < kTrimDrop / 2; ++i) {
            worker.connection_closed(); // not yet a wave
        }
    });
    std::this_thread::sleep_for(kTrimDelay + 200ms);
    EXPECT_EQ(worker.memory_trims(), 0u);
    worker.post([&worker] {
        for (std::size_t i = 0; i < kTrimDrop; ++i) {
            worker.connection_closed(); // now at most half are left
        }
    });
    EXPECT_TRUE(wait_for([&] { return worker.memory_trims() == 1; }, kTrimDelay + 2s));
    // Once: the peak starts again from what is left.
    std::this_thread::sleep_for(kTrimDelay + 200ms);
    EXPECT_EQ(worker.memory_trims(), 1u);
    worker.stop();
    worker.join();
}

} // namespace
} // namespace lacquer::net
