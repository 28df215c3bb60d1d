// origin::OriginPool on real loopback listeners and a real net::Worker loop: the balancing
// policies (smooth weighted round robin, weighted least connections, weighted rendezvous
// hashing), the per-worker share of the connection cap, and the life of kept connections
// (reused, skipped by fresh_only, dropped when the origin closes or talks, or when idle too long,
// never kept with leftover bytes). build_pool_specs copies the config's pool settings.
#include "lacquer/config/config.h"
#include "lacquer/origin/origin_pool.h"
#include "loopback_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace std::chrono_literals;
using loopback::LoopbackOrigin;
using loopback::run_until;
using loopback::settle;
using ::testing::ElementsAre;

struct EventLog final : net::ConnectionHandler {
    std::vector<net::ConnEvent> events;
    void on_readable(net::Connection&) override {}
    void on_drained(net::Connection&) override {}
    void on_event(net::Connection&, net::ConnEvent event) override { events.push_back(event); }
};

class OriginPoolTest : public ::testing::Test {
protected:
    void TearDown() override {
        leased_.clear();
        settle(worker_);
        pool_.reset();
        settle(worker_);
    }

    // A pool over `count` loopback servers with these weights.
    OriginPool& make_pool(config::Balance balance, std::vector<std::uint32_t> weights,
                          unsigned workers = 1) {
        spec_.name = "pool";
        spec_.balance = balance;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            origins_.push_back(std::make_unique<LoopbackOrigin>());
            spec_.servers.push_back(
                {origins_.back()->address(), "s" + std::to_string(i), weights[i], {}, {}});
        }
        pool_ = std::make_unique<OriginPool>(worker_, spec_, workers);
        return *pool_;
    }
    // The server of a new lease (kept in leased_), or -1 when the pool refused.
    int lease(std::uint64_t hash = 0, bool fresh_only = false) {
        AcquireError error = AcquireError::None;
        auto conn = pool_->acquire(hash, &handler_, fresh_only, error);
        if (!conn) {
            last_error_ = error;
            return -1;
        }
        EXPECT_EQ(error, AcquireError::None);
        const int server = static_cast<int>(conn->server());
        leased_.push_back(std::move(conn));
        return server;
    }
    void give_back(std::size_t index, bool reusable) {
        pool_->release(std::move(leased_.at(index)), reusable);
        leased_.erase(leased_.begin() + static_cast<std::ptrdiff_t>(index));
    }
    // The server a hash goes to (the lease is closed again at once).
    int server_of(std::uint64_t hash) {
        const int server = lease(hash);
        give_back(leased_.size() - 1, false);
        settle(worker_);
        return server;
    }
    // Leases a connection to the only server and waits until it is connected and accepted.
    int connected_lease(int& far) {
        const int server = lease();
        EXPECT_TRUE(run_until(worker_, [&] { return !handler_.events.empty(); }));
        EXPECT_THAT(handler_.events, ElementsAre(net::ConnEvent::Connected));
        handler_.events.clear();
        far = origins_.at(0)->accept(worker_);
        return server;
    }

    net::Worker worker_{0};
    std::vector<std::unique_ptr<LoopbackOrigin>> origins_;
    OriginPoolSpec spec_;
    std::unique_ptr<OriginPool> pool_;
    EventLog handler_;
    std::vector<std::unique_ptr<UpstreamConnection>> leased_;
    AcquireError last_error_ = AcquireError::None;
};

// --- Balancing -----------------------------------------------------------------------------------

TEST_F(OriginPoolTest, RoundRobinInterleavesServersByWeight) {
    make_pool(config::Balance::RoundRobin, {3, 1});
    std::vector<int> order;
    for (int i = 0; i < 8; ++i) {
        order.push_back(lease());
    }
    // Smooth weighted round robin (nginx): 3:1 and spread out, not 0,0,0,1.
    EXPECT_THAT(order, ElementsAre(0, 0, 1, 0, 0, 0, 1, 0));
}

TEST_F(OriginPoolTest, RoundRobinWithEqualWeightsAlternates) {
    make_pool(config::Balance::RoundRobin, {1, 1, 1});
    std::vector<int> order;
    for (int i = 0; i < 6; ++i) {
        order.push_back(lease());
    }
    EXPECT_THAT(order, ElementsAre(0, 1, 2, 0, 1, 2));
}

TEST_F(OriginPoolTest, LeastConnectionsPicksTheLeastLoadedServerForItsWeight) {
    make_pool(config::Balance::LeastConnections, {2, 1});
    // Active/weight: (0/2, 0/1) tie -> 0; (1/2, 0/1) -> 1; (1/2, 1/1) -> 0; (2/2, 1/1) tie: ties
    // take turns (else sequential traffic would all go to the first server) -> 1.
    std::vector<int> order;
    for (int i = 0; i < 4; ++i) {
        order.push_back(lease());
    }
    EXPECT_THAT(order, ElementsAre(0, 1, 0, 1));
    // Now 2/2 against 2/1. Each gives one back: 1/2 < 1/1, so it is 0.
    give_back(3, false);
    give_back(2, false);
    EXPECT_EQ(lease(), 0);
}

TEST_F(OriginPoolTest, ConsistentHashKeepsEachKeyOnOneServerAndFollowsTheWeights) {
    make_pool(config::Balance::ConsistentHash, {1, 1, 3});
    std::map<int, int> per_server;
    std::vector<int> first;
    constexpr int kKeys = 400;
    for (int k = 0; k < kKeys; ++k) {
        const std::uint64_t hash = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(k + 1);
        first.push_back(server_of(hash));
        ++per_server[first.back()];
    }
    for (int k = 0; k < kKeys; ++k) {
        const std::uint64_t hash = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(k + 1);
        ASSERT_EQ(server_of(hash), first[static_cast<std::size_t>(k)]) << "key " << k;
    }
    // Expected shares 20%, 20%, 60%; the bounds leave room for a fair hash's spread.
    EXPECT_GT(per_server[0], kKeys * 12 / 100);
    EXPECT_LT(per_server[0], kKeys * 28 / 100);
    EXPECT_GT(per_server[1], kKeys * 12 / 100);
    EXPECT_LT(per_server[1], kKeys * 28 / 100);
    EXPECT_GT(per_server[2], kKeys * 50 / 100);
    EXPECT_LT(per_server[2], kKeys * 70 / 100);
}

// Rendezvous hashing: without the last server, only the keys it held move.
TEST_F(OriginPoolTest, ConsistentHashMovesOnlyTheKeysOfARemovedServer) {
    make_pool(config::Balance::ConsistentHash, {1, 1, 1});
    constexpr int kKeys = 300;
    std::vector<int> before;
    for (int k = 0; k < kKeys; ++k) {
        before.push_back(server_of(0xc2b2ae3d27d4eb4fULL * static_cast<std::uint64_t>(k + 7)));
    }
    pool_.reset();
    settle(worker_);
    OriginPoolSpec smaller = spec_;
    smaller.servers.pop_back();
    pool_ = std::make_unique<OriginPool>(worker_, smaller, 1);
    int moved = 0;
    for (int k = 0; k < kKeys; ++k) {
        const int now = server_of(0xc2b2ae3d27d4eb4fULL * static_cast<std::uint64_t>(k + 7));
        if (before[static_cast<std::size_t>(k)] != 2) {
            EXPECT_EQ(now, before[static_cast<std::size_t>(k)]) << "key " << k << " moved";
        } else {
            ++moved;
        }
    }
    EXPECT_GT(moved, 0);
    pool_.reset(); // before `smaller` goes
    settle(worker_);
}

// --- The connection cap --------------------------------------------------------------------------

TEST_F(OriginPoolTest, EachWorkerHoldsItsShareOfTheCapRoundedUp) {
    spec_.max_connections_per_server = 3;
    make_pool(config::Balance::RoundRobin, {1}, /*workers=*/2); // ceil(3 / 2) = 2 here
    EXPECT_EQ(lease(), 0);
    EXPECT_EQ(lease(), 0);
    EXPECT_EQ(pool_->open_count(0), 2u);
    EXPECT_EQ(lease(), -1);
    EXPECT_EQ(last_error_, AcquireError::AllBusy);

    give_back(0, false);
    settle(worker_); // the closed connection leaves the count once it is destroyed
    EXPECT_EQ(pool_->open_count(0), 1u);
    EXPECT_EQ(lease(), 0);
}

TEST_F(OriginPoolTest, AWorkerAlwaysMayOpenOneConnection) {
    spec_.max_connections_per_server = 1;
    make_pool(config::Balance::RoundRobin, {1}, /*workers=*/8);
    EXPECT_EQ(lease(), 0);
    EXPECT_EQ(lease(), -1);
}

TEST_F(OriginPoolTest, AServerAtItsCapPassesTheRequestToTheNext) {
    spec_.max_connections_per_server = 1;
    make_pool(config::Balance::ConsistentHash, {1, 1});
    const std::uint64_t hash = 42;
    const int home = server_of(hash);
    EXPECT_EQ(lease(hash), home);
    EXPECT_EQ(lease(hash), 1 - home); // its home is full
    EXPECT_EQ(lease(hash), -1);
    EXPECT_EQ(last_error_, AcquireError::AllBusy);
}

TEST_F(OriginPoolTest, ARefusedConnectNamesItsServer) {
    make_pool(config::Balance::RoundRobin, {1, 1});
    origins_[0]->close_listener();
    origins_[1]->close_listener();
    // Refused at once, or later by the connect's error event: loopback may do either.
    AcquireError error = AcquireError::None;
    auto conn = pool_->acquire(0, &handler_, false, error);
    if (conn == nullptr) {
        EXPECT_EQ(error, AcquireError::ConnectFailed);
        EXPECT_EQ(pool_->failed_server(), 0u);
        EXPECT_EQ(pool_->open_count(0), 0u);
        return;
    }
    EXPECT_EQ(conn->server(), 0u);
    EXPECT_TRUE(run_until(worker_, [&] { return !handler_.events.empty(); }));
    EXPECT_THAT(handler_.events, ElementsAre(net::ConnEvent::Error));
    pool_->release(std::move(conn), false);
}

// --- Kept connections --------------------------------------------------------------------------

// A retry asks for a fresh connection; at the cap, the oldest kept one is closed to make room
// (else retries, which leave their connections kept, would fill the cap and then fail).
TEST_F(OriginPoolTest, AFreshConnectionAtTheCapReplacesTheOldestKeptOne) {
    spec_.max_connections_per_server = 1;
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    give_back(0, true);
    EXPECT_EQ(pool_->idle_count(), 1u);
    EXPECT_EQ(lease(0, /*fresh_only=*/true), 0);
    EXPECT_FALSE(leased_[0]->reused());
    EXPECT_EQ(pool_->idle_count(), 0u);
    EXPECT_EQ(pool_->open_count(0), 1u); // still within the cap
    EXPECT_TRUE(origins_[0]->wait_closed(worker_, far));
}

// A retry avoids the server that failed while another can take it; alone, it gets it again.
TEST_F(OriginPoolTest, AnExcludedServerIsTriedOnlyWhenNoOtherCanBe) {
    spec_.max_connections_per_server = 1;
    make_pool(config::Balance::RoundRobin, {1, 1});
    AcquireError error = AcquireError::None;
    for (int i = 0; i < 4; ++i) { // whatever round robin would pick
        auto conn = pool_->acquire(0, &handler_, true, error, /*exclude=*/0);
        ASSERT_NE(conn, nullptr);
        EXPECT_EQ(conn->server(), 1u);
        pool_->release(std::move(conn), false);
        settle(worker_);
    }
    EXPECT_EQ(lease(), 0); // server 0 is at its cap now ...
    auto conn = pool_->acquire(0, &handler_, true, error, /*exclude=*/1);
    ASSERT_NE(conn, nullptr);
    EXPECT_EQ(conn->server(), 1u); // ... so the excluded one is the only choice
    pool_->release(std::move(conn), false);
}

TEST_F(OriginPoolTest, AKeptConnectionIsReusedUnlessFreshOnlyIsAsked) {
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    EXPECT_FALSE(leased_[0]->reused());
    net::Connection* kept = &leased_[0]->connection();
    give_back(0, true);
    EXPECT_EQ(pool_->idle_count(), 1u);
    EXPECT_EQ(pool_->open_count(0), 1u);

    EXPECT_EQ(lease(0, /*fresh_only=*/true), 0); // a new connection beside the kept one
    EXPECT_FALSE(leased_[0]->reused());
    EXPECT_NE(&leased_[0]->connection(), kept);
    EXPECT_EQ(pool_->idle_count(), 1u);
    EXPECT_EQ(pool_->open_count(0), 2u);

    EXPECT_EQ(lease(), 0);
    EXPECT_TRUE(leased_[1]->reused());
    EXPECT_EQ(&leased_[1]->connection(), kept);
    EXPECT_EQ(pool_->idle_count(), 0u);
    EXPECT_TRUE(origins_[0]->stays_open(worker_, far, 20ms));
}

TEST_F(OriginPoolTest, AKeptConnectionThatTheOriginClosesIsDropped) {
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    give_back(0, true);
    ASSERT_EQ(pool_->idle_count(), 1u);
    origins_[0]->close(far);
    ASSERT_TRUE(run_until(worker_, [&] { return pool_->idle_count() == 0; }));
    settle(worker_);
    EXPECT_EQ(pool_->open_count(0), 0u);
    EXPECT_TRUE(handler_.events.empty()); // the pool handles its idle connections itself
}

// An idle connection has nothing to say: bytes on it mean a confused origin.
TEST_F(OriginPoolTest, AKeptConnectionThatReceivesBytesIsDropped) {
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    give_back(0, true);
    LoopbackOrigin::send_all(far, "HTTP/1.1 200 OK\r\n");
    ASSERT_TRUE(run_until(worker_, [&] { return pool_->idle_count() == 0; }));
    EXPECT_TRUE(origins_[0]->wait_closed(worker_, far));
}

TEST_F(OriginPoolTest, AKeptConnectionIsClosedAfterTheIdleTimeout) {
    spec_.idle_timeout = core::Millis(100);
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    give_back(0, true);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until(
        worker_, [&] { return pool_->idle_count() == 0; }, 2s));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 90ms);
    EXPECT_TRUE(origins_[0]->wait_closed(worker_, far));
}

TEST_F(OriginPoolTest, AConnectionWithLeftoverInputIsNeverKept) {
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    LoopbackOrigin::send_all(far, "surplus");
    ASSERT_TRUE(run_until(worker_, [&] { return leased_[0]->connection().input_size() == 7; }));
    give_back(0, /*reusable=*/true);
    EXPECT_EQ(pool_->idle_count(), 0u);
    EXPECT_TRUE(origins_[0]->wait_closed(worker_, far));
    settle(worker_);
    EXPECT_EQ(pool_->open_count(0), 0u);
}

TEST_F(OriginPoolTest, ANonReusableConnectionIsClosed) {
    make_pool(config::Balance::RoundRobin, {1});
    int far = -1;
    connected_lease(far);
    give_back(0, false);
    EXPECT_EQ(pool_->idle_count(), 0u);
    EXPECT_TRUE(origins_[0]->wait_closed(worker_, far));
    settle(worker_);
    EXPECT_EQ(pool_->open_count(0), 0u);
}

// --- From the config ---------------------------------------------------------------------------

TEST(OriginPoolSpecs, BuildPoolSpecsCopiesEachPoolsSettingsAndResolvesLiterals) {
    config::Config c;
    config::OriginPoolConfig pool;
    pool.name = "api";
    pool.balance = config::Balance::LeastConnections;
    pool.connect_timeout = std::chrono::milliseconds(250);
    pool.first_byte_timeout = std::chrono::seconds(3);
    pool.between_bytes_timeout = std::chrono::seconds(2);
    pool.max_connections_per_server = 17;
    pool.servers.push_back({{"127.0.0.1", 8080}, 5, {}});
    pool.servers.push_back({{"::1", 8081}, 1, {}});
    c.origins.push_back(pool);

    const std::vector<OriginPoolSpec> specs = build_pool_specs(c);
    ASSERT_EQ(specs.size(), 1u);
    const OriginPoolSpec& s = specs[0];
    EXPECT_EQ(s.name, "api");
    EXPECT_EQ(s.balance, config::Balance::LeastConnections);
    EXPECT_EQ(s.connect_timeout, core::Millis(250));
    EXPECT_EQ(s.first_byte_timeout, core::Millis(3000));
    EXPECT_EQ(s.between_bytes_timeout, core::Millis(2000));
    EXPECT_EQ(s.max_connections_per_server, 17u);
    ASSERT_EQ(s.servers.size(), 2u);
    EXPECT_EQ(s.servers[0].address.text(), "127.0.0.1:8080");
    EXPECT_EQ(s.servers[0].name, "127.0.0.1:8080");
    EXPECT_EQ(s.servers[0].weight, 5u);
    EXPECT_EQ(s.servers[1].address.text(), "[::1]:8081");
    EXPECT_EQ(s.servers[1].name, "[::1]:8081");
}

// A reload keeps a pool's retry budget and admission count while their limits stay the same, so
// the exchanges still in flight on the old config stay counted against max_in_flight.
TEST(BuildPoolSpecs, AReloadKeepsThePoolGuardWhileTheLimitsStay) {
    config::Config c;
    config::OriginPoolConfig pool;
    pool.name = "api";
    pool.servers.push_back({{"127.0.0.1", 8080}, 1, {}});
    pool.admission.max_in_flight = 8;
    c.origins.push_back(pool);
    pool.name = "other";
    c.origins.push_back(pool);
    const std::vector<OriginPoolSpec> first = build_pool_specs(c);
    ASSERT_NE(first[0].guard, nullptr);
    EXPECT_NE(first[0].guard, first[1].guard);

    c.origins[0].connect_timeout = std::chrono::seconds(3); // not a limit
    c.origins[1].admission.max_in_flight = 9;
    const std::vector<OriginPoolSpec> second = build_pool_specs(c, nullptr, &first);
    EXPECT_EQ(second[0].guard, first[0].guard);
    EXPECT_NE(second[1].guard, first[1].guard);
    EXPECT_EQ(build_pool_specs(c)[0].guard == first[0].guard, false); // a start makes new ones
}

} // namespace
} // namespace lacquer::origin
