// core::Clock: the system clock's two readings, and a ManualClock that a test's thread advances
// while other threads read it (run under TSan too).
#include "lacquer/core/clock.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace lacquer::core {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
    const Instant start = Instant{} + 3h;
    ManualClock clock(start, 1'000);
    EXPECT_EQ(clock.now(), start);
    EXPECT_EQ(clock.now(), start);
    EXPECT_EQ(clock.unix_seconds(), 1'000);
    clock.advance(90s);
    EXPECT_EQ(clock.now(), start + 90s);
    EXPECT_EQ(clock.unix_seconds(), 1'090);
}

TEST(ManualClock, TheWallClockCountsWholeSecondsOfEverythingAdvanced) {
    ManualClock clock(Instant{} + 1h, 1'000);
    clock.advance(500ms);
    EXPECT_EQ(clock.unix_seconds(), 1'000);
    clock.advance(500ms); // two half seconds are one second, not two truncated zeros
    EXPECT_EQ(clock.unix_seconds(), 1'001);
    EXPECT_EQ(clock.now(), Instant{} + 1h + 1s);
}

TEST(ManualClock, ReadersOnOtherThreadsSeeItOnlyMoveForward) {
    ManualClock clock;
    const Instant start = clock.now();
    std::atomic<bool> stop{false};
    std::atomic<int> backwards{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) {
        readers.emplace_back([&] {
            Instant last = clock.now();
            std::int64_t last_unix = clock.unix_seconds();
            while (!stop.load()) {
                const Instant now = clock.now();
                const std::int64_t unix = clock.unix_seconds();
                backwards += (now < last || unix < last_unix) ? 1 : 0;
                last = now;
                last_unix = unix;
            }
        });
    }
    for (int i = 0; i < 10'000; ++i) {
        clock.advance(1ms);
    }
    stop.store(true);
    for (std::thread& t : readers) {
        t.join();
    }
    EXPECT_EQ(backwards.load(), 0);
    EXPECT_EQ(clock.now(), start + 10s);
}

TEST(SystemClock, IsTheSteadyClockAndTheWallClock) {
    const Clock& clock = system_clock();
    const auto before = std::chrono::steady_clock::now();
    const Instant now = clock.now();
    EXPECT_GE(now, before);
    EXPECT_LT(now - before, 1s);
    const auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    EXPECT_LE(std::abs(clock.unix_seconds() - wall), 1);
}

} // namespace
} // namespace lacquer::core
