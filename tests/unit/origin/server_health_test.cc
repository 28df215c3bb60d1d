// Shared server health with an injected time: passive ejection, its growth and its cap, probe
// hysteresis, operator modes, slow start and panic weights.
#include "lacquer/origin/server_health.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace std::chrono_literals;

struct Pool {
    explicit Pool(std::size_t n, config::OutlierDetectionConfig outlier = {},
                  core::Duration slow_start = core::Duration(0))
        : health("api", outlier, slow_start, make(n), clock) {}
    static std::vector<std::shared_ptr<ServerHealth>> make(std::size_t n) {
        std::vector<std::shared_ptr<ServerHealth>> out;
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(std::make_shared<ServerHealth>());
        }
        return out;
    }
    void fail(std::size_t i, int times) {
        for (int k = 0; k < times; ++k) {
            health.record_failure(i, now);
        }
    }
    ServerState state(std::size_t i) const { return health.server(i).state(now); }
    core::ManualClock clock;
    core::Instant now = core::Instant{} + 1h;
    PoolHealth health;
};

TEST(ServerHealth, ServersStartHealthy) {
    Pool p(2);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
    EXPECT_TRUE(p.health.any_usable(p.now));
}

TEST(ServerHealth, ConsecutiveFailuresEjectForTheBaseTimeThenTheServerIsBack) {
    Pool p(3);
    p.fail(0, 4);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
    EXPECT_TRUE(p.health.record_failure(0, p.now)); // the fifth in a row ejects
    EXPECT_EQ(p.state(0), ServerState::Ejected);
    EXPECT_EQ(p.health.server(0).ejections.load(), 1u);
    p.now += 10s - 1ms;
    EXPECT_EQ(p.state(0), ServerState::Ejected);
    p.now += 1ms;
    EXPECT_EQ(p.state(0), ServerState::Healthy);
}

TEST(ServerHealth, ASuccessInBetweenResetsTheCount) {
    Pool p(3);
    p.fail(0, 4);
    p.health.record_response(0, 200, p.now);
    p.fail(0, 4);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
    p.fail(0, 1);
    EXPECT_EQ(p.state(0), ServerState::Ejected);
}

TEST(ServerHealth, FiveHundredsCountAsFailures) {
    Pool p(3);
    for (int i = 0; i < 5; ++i) {
        p.health.record_response(1, 503, p.now);
    }
    EXPECT_EQ(p.state(1), ServerState::Ejected);
}

TEST(ServerHealth, TheEjectionTimeDoublesWhileTheServerKeepsFailingUpToTheMaximum) {
    config::OutlierDetectionConfig outlier;
    outlier.base_ejection_time = 1s;
    outlier.max_ejection_time = 3s;
    Pool p(2, outlier);
    for (const auto expected : {1s, 2s, 3s, 3s}) {
        p.fail(0, 5);
        ASSERT_EQ(p.state(0), ServerState::Ejected);
        EXPECT_EQ(p.health.server(0).ejected_until() - p.now, expected);
        p.now = p.health.server(0).ejected_until();
    }
    p.health.record_response(0, 200, p.now); // a success ends the streak
    p.fail(0, 5);
    EXPECT_EQ(p.health.server(0).ejected_until() - p.now, 1s);
}

TEST(ServerHealth, AtMostMaxEjectedPercentOfThePoolIsEjected) {
    Pool p(4); // 50%: two of four
    p.fail(0, 5);
    p.fail(1, 5);
    p.fail(2, 5);
    p.fail(3, 5);
    int ejected = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        ejected += p.state(i) == ServerState::Ejected ? 1 : 0;
    }
    EXPECT_EQ(ejected, 2);
    // The other two still get traffic (a pool-wide outage still reaches the origin), though
    // none is usable for /readyz: they keep failing.
    std::vector<std::uint32_t> w(4);
    ASSERT_TRUE(p.health.weights(std::vector<std::uint32_t>(4, 1), p.now, w));
    EXPECT_EQ(std::count(w.begin(), w.end(), 0u), 2);
    EXPECT_FALSE(p.health.any_usable(p.now));

    Pool single(1); // one server of one is 100%: never ejected, but not usable (/readyz)
    single.fail(0, 4);
    EXPECT_TRUE(single.health.usable(0, single.now));
    single.fail(0, 46);
    EXPECT_EQ(single.state(0), ServerState::Healthy);
    EXPECT_FALSE(single.health.usable(0, single.now));
    EXPECT_FALSE(single.health.any_usable(single.now));
    single.health.record_response(0, 200, single.now);
    EXPECT_TRUE(single.health.any_usable(single.now));
}

TEST(ServerHealth, DisabledDetectionNeverEjects) {
    config::OutlierDetectionConfig outlier;
    outlier.enabled = false;
    Pool p(3, outlier);
    p.fail(0, 50);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
}

TEST(ServerHealth, ProbesNeedUnhealthyAfterFailuresAndHealthyAfterSuccessesInARow) {
    Pool p(1);
    ServerHealth& s = p.health.server(0);
    EXPECT_FALSE(s.record_probe(false, 3, 2, p.now));
    EXPECT_FALSE(s.record_probe(false, 3, 2, p.now));
    EXPECT_FALSE(s.record_probe(true, 3, 2, p.now)); // breaks the streak
    EXPECT_FALSE(s.record_probe(false, 3, 2, p.now));
    EXPECT_FALSE(s.record_probe(false, 3, 2, p.now));
    EXPECT_TRUE(s.record_probe(false, 3, 2, p.now));
    EXPECT_EQ(p.state(0), ServerState::ProbedDown);
    EXPECT_FALSE(s.record_probe(true, 3, 2, p.now));
    EXPECT_TRUE(s.record_probe(true, 3, 2, p.now));
    EXPECT_EQ(p.state(0), ServerState::Healthy);
    EXPECT_EQ(s.probes_ok.load(), 3u);
    EXPECT_EQ(s.probes_failed.load(), 5u);
}

TEST(ServerHealth, AProbeThatSawTheServerGoAndComeBackEndsAPassiveEjection) {
    Pool p(3);
    ServerHealth& s = p.health.server(0);
    p.fail(0, 5);
    ASSERT_EQ(p.state(0), ServerState::Ejected);
    s.record_probe(true, 2, 2, p.now); // up all along: the ejection stays
    s.record_probe(true, 2, 2, p.now);
    EXPECT_EQ(p.state(0), ServerState::Ejected);
    s.record_probe(false, 2, 2, p.now);
    s.record_probe(false, 2, 2, p.now);
    EXPECT_EQ(p.state(0), ServerState::ProbedDown);
    s.record_probe(true, 2, 2, p.now);
    s.record_probe(true, 2, 2, p.now);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
}

TEST(ServerHealth, OperatorModesWinOverHealth) {
    Pool p(2);
    p.health.server(0).set_mode(AdminMode::Draining, p.now);
    EXPECT_EQ(p.state(0), ServerState::Draining);
    p.health.server(0).set_mode(AdminMode::Disabled, p.now);
    EXPECT_EQ(p.state(0), ServerState::Disabled);
    p.health.server(0).set_mode(AdminMode::Enabled, p.now);
    EXPECT_EQ(p.state(0), ServerState::Healthy);
}

TEST(ServerHealth, WeightsSkipUnusableServersAndPanicOnlyOverEnabledOnes) {
    Pool p(3);
    const std::vector<std::uint32_t> configured{1, 2, 1};
    std::vector<std::uint32_t> w(3);
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w, (std::vector<std::uint32_t>{100, 200, 100}));
    p.health.server(0).set_mode(AdminMode::Draining, p.now);
    p.fail(1, 5);
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w, (std::vector<std::uint32_t>{0, 0, 100}));
    // Every enabled server down (probed): traffic still goes to them, never to the drained one.
    for (int i = 0; i < 3; ++i) {
        p.health.server(1).record_probe(false, 3, 2, p.now);
        p.health.server(2).record_probe(false, 3, 2, p.now);
    }
    EXPECT_FALSE(p.health.any_usable(p.now));
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w, (std::vector<std::uint32_t>{0, 200, 100}));
    p.health.server(1).set_mode(AdminMode::Disabled, p.now);
    p.health.server(2).set_mode(AdminMode::Disabled, p.now);
    EXPECT_FALSE(p.health.weights(configured, p.now, w));
}

TEST(ServerHealth, SlowStartRampsARecoveredServersWeight) {
    config::OutlierDetectionConfig outlier;
    outlier.base_ejection_time = 1s;
    Pool p(3, outlier, 10s);
    const std::vector<std::uint32_t> configured{1, 1, 1};
    std::vector<std::uint32_t> w(3);
    p.fail(0, 5);
    p.now += 1s; // back now
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w[0], 10u); // 10% floor
    p.now += 5s;
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w[0], 50u);
    p.now += 5s;
    ASSERT_TRUE(p.health.weights(configured, p.now, w));
    EXPECT_EQ(w[0], 100u);
    EXPECT_EQ(w[1], 100u);
}

TEST(ServerHealth, TheBookKeepsAServersHealthAcrossGenerations) {
    core::ManualClock clock;
    HealthBook book(clock);
    const auto a = book.server("api", "10.0.0.1:80");
    EXPECT_EQ(a, book.server("api", "10.0.0.1:80"));
    EXPECT_NE(a, book.server("api", "10.0.0.2:80"));
    EXPECT_NE(a, book.server("web", "10.0.0.1:80"));
}

} // namespace
} // namespace lacquer::origin
