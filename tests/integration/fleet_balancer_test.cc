// Three real lacquerd nodes behind a real load balancer running the packaged config (HAProxy:
// packaging/haproxy/lacquer-fleet.cfg; nginx: packaging/nginx/lacquer-fleet.conf): each key
// costs the origin one request for the whole fleet (round robin costs one per node), a stopped
// node moves only its own keys (about a third) without failing client requests, and its return
// gets its keys back. Each balancer's tests skip only when that balancer is not installed.
#include "fleet_support.h"
#include "support/http_client.h"

#include <atomic>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test::fleet {
namespace {

const HeaderFields kApi{{"Host", "api.test"}};
constexpr std::size_t kNodes = 3;
constexpr std::size_t kKeys = 90;

std::string key_target(std::string_view set, std::size_t i) {
    return "/c/" + std::string(set) + "/" + std::to_string(i) + "?v=" + std::to_string(i % 7);
}

// The parameter: "haproxy" or "nginx".
class FleetBalancer : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        const bool haproxy = GetParam() == "haproxy";
        const std::string binary = haproxy ? haproxy_binary() : nginx_binary();
        if (binary.empty()) {
            GTEST_SKIP() << GetParam() << " is not installed (apt-get install " << GetParam()
                         << ", or tools/install-deps.sh test; or set LACQUER_"
                         << (haproxy ? "HAPROXY" : "NGINX")
                         << "): this fleet test needs the real balancer";
        }
        fleet_ = std::make_unique<LacquerFleet>(kNodes);
        ASSERT_TRUE(fleet_->started());
        if (haproxy) {
            auto process = std::make_unique<HaproxyProcess>(binary, *fleet_);
            ASSERT_TRUE(process->started()) << process->error();
            for (std::size_t i = 0; i < kNodes; ++i) {
                ASSERT_TRUE(process->wait_for_state(server_name(i), "UP", 5s))
                    << server_name(i) << ": " << process->stderr_text();
            }
            balancer_ = std::move(process);
        } else {
            balancer_ = std::make_unique<NginxProcess>(binary, *fleet_);
            ASSERT_TRUE(balancer_->started()) << balancer_->error();
        }
    }

    // One GET through the balancer; the node that answered, "" on failure.
    std::string fetch(const std::string& target) const {
        const Response r = http_get(balancer_->port(), target, kApi, 5s);
        EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
        return r.status == 200 ? balancer_->node_of(r) : "";
    }

    // Every key of `set` once through HAProxy: key index -> node.
    std::vector<std::string> fetch_all(std::string_view set) const {
        std::vector<std::string> nodes;
        for (std::size_t i = 0; i < kKeys; ++i) {
            nodes.push_back(fetch(key_target(set, i)));
        }
        return nodes;
    }

    std::uint64_t origin_requests() const {
        const auto stats = fleet_->origin().stats();
        return stats ? stats->requests : 0;
    }

    std::unique_ptr<LacquerFleet> fleet_;
    std::unique_ptr<Balancer> balancer_;
};

TEST_P(FleetBalancer, EachKeyCostsTheOriginOneRequestForTheFleetWhereRoundRobinCostsOnePerNode) {
    ASSERT_TRUE(fleet_->origin().reset_stats());
    const std::vector<std::string> owner = fetch_all("hash");
    std::map<std::string, std::size_t> keys_per_node;
    for (int round = 1; round < 3; ++round) {
        const std::vector<std::string> again = fetch_all("hash");
        EXPECT_EQ(again, owner) << "round " << round << ": a key changed node";
    }
    for (const std::string& node : owner) {
        ++keys_per_node[node];
    }
    const std::uint64_t hashed = origin_requests();
    EXPECT_EQ(hashed, kKeys) << "3 rounds of " << kKeys << " keys through the hash balancer";
    // Every node holds a share (consistent hashing on 3 servers is uneven, never empty).
    EXPECT_EQ(keys_per_node.size(), kNodes);
    for (const auto& [node, keys] : keys_per_node) {
        EXPECT_GE(keys, kKeys / 10) << node;
    }

    // What a round-robin balancer does with the same traffic: the 3 requests for a key land on
    // the 3 nodes in turn, and each node fetches it for itself.
    ASSERT_TRUE(fleet_->origin().reset_stats());
    for (std::size_t round = 0; round < kNodes; ++round) {
        for (std::size_t i = 0; i < kKeys; ++i) {
            const Response r = http_get(fleet_->port(round), key_target("rr", i), kApi, 5s);
            ASSERT_EQ(r.status, 200) << r.summary();
        }
    }
    const std::uint64_t round_robin = origin_requests();
    EXPECT_EQ(round_robin, kNodes * kKeys);
    std::cout << "[ figures  ] " << GetParam() << ": origin requests for " << kKeys
              << " keys x 3 rounds: hash " << hashed << ", round robin " << round_robin << "\n";
}

// Requests through HAProxy from another thread while a node stops and returns; bounded in count
// and time. Counts the answers that were not a 200.
class BackgroundLoad {
public:
    explicit BackgroundLoad(std::uint16_t port) : thread_([this, port] { run(port); }) {}
    ~BackgroundLoad() { finish(); }
    BackgroundLoad(const BackgroundLoad&) = delete;
    BackgroundLoad& operator=(const BackgroundLoad&) = delete;

    void finish() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::size_t sent() const { return sent_; }
    const std::vector<std::string>& failures() const { return failures_; } // after finish()

private:
    void run(std::uint16_t port) {
        const Deadline deadline(20s);
        for (std::size_t i = 0; !stop_ && !deadline.expired() && i < 20'000; ++i) {
            const std::string target = key_target("move", i % kKeys);
            const Response r = http_get(port, target, kApi, 5s);
            ++sent_;
            if (r.status != 200) {
                failures_.push_back(target + ": " + r.summary());
            }
            std::this_thread::sleep_for(1ms); // a steady client, not a flood on a shared CI box
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> sent_{0};
    std::vector<std::string> failures_;
    std::thread thread_;
};

TEST_P(FleetBalancer, AStoppedNodeMovesOnlyItsKeysWithoutFailedRequestsAndGetsThemBackOnReturn) {
    constexpr std::size_t kStopped = 1;
    const std::string stopped = server_name(kStopped);
    const std::vector<std::string> owner = fetch_all("move");
    std::size_t owned = 0;
    for (const std::string& node : owner) {
        owned += node == stopped ? 1 : 0;
    }
    ASSERT_GT(owned, 0U);

    BackgroundLoad load(balancer_->port());
    ASSERT_TRUE(fleet_->origin().reset_stats());
    ASSERT_TRUE(fleet_->stop(kStopped));
    ASSERT_TRUE(balancer_->wait_out(kStopped, 5s));
    // Until the checks mark it down, a request for its keys is refused there and redispatched
    // to another node (HAProxy's choice, not always the one the ring gives the key next).
    // (The counter is read, not reset: the background requests go on meanwhile.)
    const std::uint64_t redispatched = origin_requests();
    const std::vector<std::string> moved_to = fetch_all("move");
    std::size_t moved = 0;
    for (std::size_t i = 0; i < kKeys; ++i) {
        EXPECT_NE(moved_to[i], stopped);
        if (owner[i] == stopped) {
            ++moved;
        } else {
            EXPECT_EQ(moved_to[i], owner[i]) << "key " << i << " moved though its node runs";
        }
    }
    EXPECT_EQ(moved, owned);
    const double share = static_cast<double>(moved) / kKeys;
    // About a third: the stopped node's share of the ring, which for nginx depends on the
    // ports of the run (19 to 39 of 90 keys seen), and for HAProxy on the server ids (32).
    EXPECT_GE(share, 0.10);
    EXPECT_LE(share, 0.60);
    // Each moved key is fetched once, by the node that took it over: the balancers send a key
    // of a refused node to the next node of the ring (HAProxy: once `observe layer4` has taken
    // it out, at the first refused connection). A little slack for the requests that were on
    // their way to the stopping node at that moment.
    const std::uint64_t taken_over = origin_requests() - redispatched;
    EXPECT_LE(taken_over, moved);
    EXPECT_GE(redispatched + taken_over, moved);
    EXPECT_LE(redispatched + taken_over, moved + 2);

    ASSERT_TRUE(fleet_->origin().reset_stats());
    ASSERT_TRUE(fleet_->restart(kStopped));
    std::size_t probe = 0;
    while (owner[probe] != stopped) {
        ++probe;
    }
    ASSERT_TRUE(balancer_->wait_in(kStopped, key_target("move", probe), 5s));
    const std::vector<std::string> back = fetch_all("move");
    EXPECT_EQ(back, owner) << "the returned node did not get its keys back";
    // It came back empty: its keys are fetched once more, by it.
    EXPECT_EQ(origin_requests(), owned);

    load.finish();
    EXPECT_GT(load.sent(), 20U);
    // One request at a time was in flight on the stopping node: at most that one may fail.
    EXPECT_LE(load.failures().size(), 1U) << ::testing::PrintToString(load.failures());
    std::cout << "[ figures  ] " << GetParam() << ": " << moved << " of " << kKeys
              << " keys moved off " << stopped << " (" << static_cast<int>(share * 100)
              << "%); origin fetches while it was going " << redispatched << ", once down "
              << taken_over << "; background requests " << load.sent() << ", failed "
              << load.failures().size() << "\n";
}

// The same key written three ways (params reordered, an unkeyed utm_source added): Lacquer keys
// them as one object (key_params [limit, offset]), but `pathq` hashes three strings, so the key
// is on up to three nodes. The alternative in the packaged file's comment (the path plus the
// allow-listed params) puts the three on one node: one origin fetch per key again.
TEST(FleetHaproxyAllowList, HashingOnTheAllowListedParamsKeepsAnObjectOnOneNode) {
    const std::string binary = haproxy_binary();
    if (binary.empty()) {
        GTEST_SKIP() << "haproxy is not installed (apt-get install haproxy, or "
                        "tools/install-deps.sh test; or set LACQUER_HAPROXY)";
    }
    LacquerFleet fleet(kNodes);
    ASSERT_TRUE(fleet.started());
    const std::string allow_list = allow_list_balance(packaged_haproxy_text());
    ASSERT_NE(allow_list.find("balance hash var(txn.lq_hash)"), std::string::npos) << allow_list;
    constexpr std::size_t kListed = 30;
    const auto origin_fetches = [&](const std::string& balance, std::string_view set) {
        HaproxyProcess haproxy(binary, fleet, balance);
        EXPECT_TRUE(haproxy.started()) << haproxy.error();
        for (std::size_t i = 0; i < kNodes; ++i) {
            EXPECT_TRUE(haproxy.wait_for_state(server_name(i), "UP", 5s)) << server_name(i);
        }
        EXPECT_TRUE(fleet.origin().reset_stats());
        for (std::size_t i = 0; i < kListed && haproxy.started(); ++i) {
            const std::string path = "/l/" + std::string(set) + "/" + std::to_string(i);
            const std::string limit = "limit=" + std::to_string(i);
            for (const std::string& target :
                 {path + "?" + limit + "&offset=0", path + "?offset=0&" + limit + "&utm_source=a",
                  path + "?utm_source=b&" + limit + "&offset=0"}) {
                const Response r = http_get(haproxy.port(), target, kApi, 5s);
                EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
            }
        }
        const auto stats = fleet.origin().stats();
        return stats ? stats->requests : 0;
    };
    const std::uint64_t by_pathq = origin_fetches({}, "pathq");
    const std::uint64_t by_allow_list = origin_fetches(allow_list, "allow");
    EXPECT_GT(by_pathq, kListed);
    EXPECT_EQ(by_allow_list, kListed);
    std::cout << "[ figures  ] " << kListed << " keys written 3 ways: origin fetches with pathq "
              << by_pathq << ", with the allow-listed params " << by_allow_list << "\n";
}

INSTANTIATE_TEST_SUITE_P(Balancers, FleetBalancer, ::testing::Values("haproxy", "nginx"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });

} // namespace
} // namespace lacquer::test::fleet
