// The balancing policies as pure decisions: weights, skipping, consistent hashing's remapping.
#include "lacquer/origin/balancer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace lacquer::origin {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> names(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back("10.0.0." + std::to_string(i + 1) + ":8080");
    }
    return out;
}

std::vector<std::size_t> picks(Balancer& b, std::vector<std::uint32_t> weights, int n) {
    const std::vector<std::size_t> active(weights.size(), 0);
    std::vector<std::size_t> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(b.pick(0, weights, active));
    }
    return out;
}

TEST(Balancer, RoundRobinIsSmoothAndWeighted) {
    Balancer b(config::Balance::RoundRobin, 3, nullptr);
    // 5:1:1 as nginx interleaves it: a a b a c a a.
    EXPECT_THAT(picks(b, {500, 100, 100}, 7), ElementsAre(0, 0, 1, 0, 2, 0, 0));
}

TEST(Balancer, EveryPolicySkipsAServerWhoseWeightIsZero) {
    const std::vector<std::string> n = names(3);
    const std::vector<std::uint32_t> w{1, 1, 1};
    const MaglevTable table(n, w);
    for (const config::Balance policy :
         {config::Balance::RoundRobin, config::Balance::LeastConnections,
          config::Balance::ConsistentHash}) {
        Balancer b(policy, 3, &table);
        const std::vector<std::size_t> active(3, 0);
        const std::vector<std::uint32_t> weights{100, 0, 100};
        for (std::uint64_t key = 0; key < 300; ++key) {
            const std::size_t s = b.pick(key * 0x9e3779b97f4a7c15ULL, weights, active);
            ASSERT_NE(s, 1u) << "policy " << static_cast<int>(policy) << " key " << key;
            ASSERT_LT(s, 3u);
        }
        EXPECT_EQ(b.pick(1, std::vector<std::uint32_t>{0, 0, 0}, active), 3u) << "none usable";
    }
}

TEST(Balancer, LeastConnectionsPrefersTheLeastLoadedPerUnitOfWeight) {
    Balancer b(config::Balance::LeastConnections, 3, nullptr);
    const std::vector<std::uint32_t> weights{100, 100, 200};
    // 4/1, 1/1, 3/2: server 1.
    EXPECT_EQ(b.pick(0, weights, std::vector<std::size_t>{4, 1, 3}), 1u);
    // 4/1, 2/1, 3/2: server 2 (1.5 < 2).
    EXPECT_EQ(b.pick(0, weights, std::vector<std::size_t>{4, 2, 3}), 2u);
}

TEST(Balancer, LeastConnectionsTiesTakeTurns) {
    Balancer b(config::Balance::LeastConnections, 3, nullptr);
    EXPECT_THAT(picks(b, {100, 100, 100}, 6), ElementsAre(0, 1, 2, 0, 1, 2));
}

TEST(Balancer, ConsistentHashSendsAKeyToTheSameServerWhateverTheWorker) {
    const std::vector<std::string> n = names(4);
    const std::vector<std::uint32_t> w{1, 1, 1, 1};
    const MaglevTable table(n, w);
    Balancer a(config::Balance::ConsistentHash, 4, &table);
    Balancer b(config::Balance::ConsistentHash, 4, &table);
    const std::vector<std::uint32_t> weights(4, 100);
    const std::vector<std::size_t> active(4, 0);
    std::map<std::size_t, int> load;
    for (std::uint64_t key = 0; key < 10'000; ++key) {
        const std::uint64_t h = key * 0x9e3779b97f4a7c15ULL;
        const std::size_t s = a.pick(h, weights, active);
        ASSERT_EQ(s, a.pick(h, weights, active));
        ASSERT_EQ(s, b.pick(h, weights, active));
        ++load[s];
    }
    for (const auto& [server, keys] : load) {
        EXPECT_NEAR(keys, 2500, 300) << "server " << server;
    }
}

// The table is built from the servers' names, not their positions: removing one of four moves
// its quarter of the keys and (almost) nothing else, wherever it stood in the list.
TEST(Balancer, ConsistentHashRemovingOneOfFourServersRemapsAboutAQuarter) {
    const std::vector<std::string> four = names(4);
    for (std::size_t removed = 0; removed < 4; ++removed) {
        std::vector<std::string> three = four;
        three.erase(three.begin() + static_cast<std::ptrdiff_t>(removed));
        const MaglevTable before(four, std::vector<std::uint32_t>(4, 1));
        const MaglevTable after(three, std::vector<std::uint32_t>(3, 1));
        const std::vector<std::uint32_t> w4(4, 100);
        const std::vector<std::uint32_t> w3(3, 100);
        int moved = 0;
        for (std::uint64_t key = 0; key < 10'000; ++key) {
            const std::uint64_t h = key * 0x9e3779b97f4a7c15ULL + 7;
            const std::string& was = four[before.lookup(h, w4)];
            const std::string& now = three[after.lookup(h, w3)];
            moved += was != now ? 1 : 0;
        }
        EXPECT_GE(moved, 2000) << "removed server " << removed;
        EXPECT_LE(moved, 3000) << "removed server " << removed;
    }
}

TEST(Balancer, ConsistentHashSpreadsASkippedServersKeysOverTheOthers) {
    const std::vector<std::string> n = names(4);
    const MaglevTable table(n, std::vector<std::uint32_t>(4, 1));
    const std::vector<std::uint32_t> all(4, 100);
    const std::vector<std::uint32_t> without_0{0, 100, 100, 100};
    std::map<std::size_t, int> went;
    int moved_others = 0;
    for (std::uint64_t key = 0; key < 10'000; ++key) {
        const std::uint64_t h = key * 0x9e3779b97f4a7c15ULL;
        const std::size_t was = table.lookup(h, all);
        const std::size_t now = table.lookup(h, without_0);
        if (was == 0) {
            ++went[now];
        } else {
            moved_others += was != now ? 1 : 0;
        }
    }
    EXPECT_EQ(moved_others, 0); // keys of the usable servers stay
    for (std::size_t s = 1; s < 4; ++s) {
        EXPECT_GT(went[s], 500) << "server " << s << " took too few of server 0's keys";
    }
}

TEST(Balancer, ConsistentHashHonoursWeights) {
    const std::vector<std::string> n = names(2);
    const MaglevTable table(n, std::vector<std::uint32_t>{3, 1});
    int first = 0;
    for (std::size_t e = 0; e < MaglevTable::kSize; ++e) {
        first += table.owner(e) == 0 ? 1 : 0;
    }
    EXPECT_NEAR(static_cast<double>(first) / MaglevTable::kSize, 0.75, 0.01);
}

} // namespace
} // namespace lacquer::origin
