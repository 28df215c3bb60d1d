// `lacquerctl --fleet FILE`, the real binary, against three real lacquerd nodes (one of them
// stopped where a test says so): purge reaches every live node (the next request there is a
// miss) and names the dead one in a non-zero exit; soft purge, ban and stats over the fleet;
// reload against fake admin listeners that answer the POST /reload contract; a bad fleet file
// is refused with FILE:LINE:COL.
#include "cache_test_support.h"
#include "fleet_support.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/scripted_origin.h"

#include <cstdlib>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lacquer::test::fleet {
namespace {

using namespace cache_test;
using ::testing::HasSubstr;

constexpr std::size_t kNodes = 3;

std::string lacquerctl_binary() {
    if (const char* env = std::getenv("LACQUERCTL"); env != nullptr && *env != '\0') {
        return env;
    }
    return LACQUERCTL_BIN;
}

class FleetCtl : public ::testing::Test {
protected:
    void SetUp() override {
        fleet_ = std::make_unique<LacquerFleet>(kNodes);
        ASSERT_TRUE(fleet_->started());
        std::string lines = "# the test fleet\n";
        for (std::size_t i = 0; i < kNodes; ++i) {
            lines += fleet_->admin_address(i) + "\n";
        }
        fleet_file_ = dir_.write_file("fleet.txt", lines).string();
    }

    ProgramRun ctl(std::vector<std::string> args, const std::string& fleet_file = {}) const {
        args.insert(args.begin(),
                    {"--fleet", fleet_file.empty() ? fleet_file_ : fleet_file, "--timeout", "2s"});
        return run_to_exit(lacquerctl_binary(), args, dir_.path(), 15s);
    }

    std::string cache_status(std::size_t node, std::string_view target) const {
        const Response r = http_get(fleet_->port(node), target, kApiHost);
        EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
        return r.header("Cache-Status");
    }
    void store(std::size_t node, std::string_view target) const {
        ASSERT_EQ(cache_status(node, target), kStored) << target;
        ASSERT_EQ(cache_status(node, target), kHit) << target;
    }

    // The line of `node` in lacquerctl's text output.
    static std::string line_of(const std::string& text, const std::string& node) {
        const std::size_t at = text.find(node + " ");
        return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
    }

    TempDir dir_{"lacquer-fleet-ctl"};
    std::unique_ptr<LacquerFleet> fleet_;
    std::string fleet_file_;
};

TEST_F(FleetCtl, PurgeReachesEveryLiveNodeAndNamesTheDeadOneInANonZeroExit) {
    store(0, "/c/p/1");
    store(1, "/c/p/1");
    ASSERT_TRUE(fleet_->stop(2));
    const ProgramRun run = ctl({"purge", "/c/p/1"});
    EXPECT_EQ(run.exit_code, 3) << run.stdout_text << run.stderr_text;
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(0)),
                ::testing::MatchesRegex(".* ok +purged 1 object"));
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(1)),
                ::testing::MatchesRegex(".* ok +purged 1 object"));
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(2)),
                ::testing::MatchesRegex(".* unreachable +cannot connect to .*"));
    EXPECT_THAT(run.stdout_text, HasSubstr("fleet: 2 of 3 nodes ok; purged 2 in all; failed: " +
                                           fleet_->admin_address(2) + "\n"));
    EXPECT_THAT(run.stderr_text, HasSubstr("1 of 3 nodes failed: " + fleet_->admin_address(2)));
    // Gone from both live nodes: the next request is a miss there.
    EXPECT_EQ(cache_status(0, "/c/p/1"), kStored);
    EXPECT_EQ(cache_status(1, "/c/p/1"), kStored);

    const ProgramRun json = ctl({"purge", "--prefix", "/c/p/", "--json"});
    EXPECT_EQ(json.exit_code, 3);
    EXPECT_THAT(json.stdout_text,
                HasSubstr("{\"node\": \"" + fleet_->admin_address(0) +
                          "\", \"outcome\": \"ok\", \"http_status\": 200, \"purged\": 1}"));
    EXPECT_THAT(json.stdout_text, HasSubstr("\"node\": \"" + fleet_->admin_address(2) +
                                            "\", \"outcome\": \"unreachable\", "
                                            "\"http_status\": null, \"error\": \"cannot connect"));
    EXPECT_THAT(json.stdout_text, HasSubstr("\"ok\": 2, \"failed\": [\"" +
                                            fleet_->admin_address(2) + "\"], \"purged\": 2}\n"));
}

TEST_F(FleetCtl, SoftPurgeAndBanReachEveryNode) {
    for (std::size_t i = 0; i < kNodes; ++i) {
        store(i, "/c/soft");
        store(i, "/c/ban/1");
        store(i, "/c/ban/2");
    }
    const ProgramRun soft = ctl({"purge", "--soft", "/c/soft"});
    EXPECT_EQ(soft.exit_code, 0) << soft.stderr_text;
    EXPECT_THAT(soft.stdout_text, HasSubstr("fleet: 3 of 3 nodes ok; purged 3 in all\n"));
    for (std::size_t i = 0; i < kNodes; ++i) {
        // Kept and served stale while one request refreshes it.
        EXPECT_EQ(cache_status(i, "/c/soft"), "lacquer; hit; fwd=stale") << i;
    }

    const ProgramRun ban = ctl({"ban", "^/c/ban/"});
    EXPECT_EQ(ban.exit_code, 0) << ban.stderr_text;
    for (std::size_t i = 0; i < kNodes; ++i) {
        EXPECT_THAT(line_of(ban.stdout_text, fleet_->admin_address(i)),
                    ::testing::MatchesRegex(".* ok +banned 2 objects"));
        EXPECT_EQ(cache_status(i, "/c/ban/2"), kStored) << i;
    }
    EXPECT_THAT(ban.stdout_text, HasSubstr("fleet: 3 of 3 nodes ok; banned 6 in all\n"));
}

TEST_F(FleetCtl, StatsShowsEveryNodeAndTheFleetsSums) {
    store(0, "/c/s/1");
    store(0, "/c/s/2");
    store(1, "/c/s/1");
    // Node 0: 2 misses and 2 hits; node 1: 1 and 1; node 2: nothing yet.
    const ProgramRun run = ctl({"stats"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(0)),
                HasSubstr("ok           objects 2, "));
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(0)),
                HasSubstr("hit ratio 50.0% (2 of 4)"));
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(2)), HasSubstr("objects 0, "));
    EXPECT_THAT(run.stdout_text,
                ::testing::MatchesRegex("(.|\n)*fleet: 3 of 3 nodes ok; objects 3, .*, hit ratio "
                                        "50.0% \\(3 of 6\\)\n"));

    const ProgramRun json = ctl({"stats", "--json"});
    EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
    EXPECT_THAT(json.stdout_text, HasSubstr("\"ok\": 3, \"failed\": [], \"objects\": 3, "));
    EXPECT_THAT(json.stdout_text, HasSubstr("\"hits\": 3, \"cacheable\": 6}\n"));
}

// POST /reload is another branch's (issue 22 reload helper): 200 "applied generation N" or 422
// "refused: FILE:LINE:COL: message". Two fake admin listeners answer that contract; the real
// node of this branch has no such endpoint yet and answers 404, which is an error too.
TEST_F(FleetCtl, ReloadReportsEachNodesGenerationOrRefusal) {
    ScriptedOrigin applied;
    applied.on("POST", "/reload",
               [](OriginExchange& x) { x.respond(200, {}, "applied generation 7\n"); });
    ScriptedOrigin refused;
    refused.on("POST", "/reload", [](OriginExchange& x) {
        x.respond(422, {}, "refused: /etc/lacquer/lacquer.yaml:12:5: unknown key 'ttll'\n");
    });
    const std::string file =
        dir_.write_file("reload.txt", applied.address() + "\n" + refused.address() + "\n").string();
    const ProgramRun run = ctl({"reload"}, file);
    EXPECT_EQ(run.exit_code, 1) << run.stdout_text << run.stderr_text;
    EXPECT_THAT(line_of(run.stdout_text, applied.address()),
                ::testing::MatchesRegex(".* ok +applied generation 7"));
    EXPECT_THAT(line_of(run.stdout_text, refused.address()),
                ::testing::MatchesRegex(".* error +422 refused: "
                                        "/etc/lacquer/lacquer.yaml:12:5: unknown key 'ttll'"));
    EXPECT_THAT(run.stderr_text, HasSubstr("1 of 2 nodes failed: " + refused.address()));
    EXPECT_EQ(applied.count("/reload"), 1U);
    EXPECT_EQ(refused.count("/reload"), 1U);

    const ProgramRun json = ctl({"reload", "--json"}, file);
    EXPECT_THAT(json.stdout_text, HasSubstr("\"outcome\": \"ok\", \"http_status\": 200, "
                                            "\"message\": \"applied generation 7\"}"));
    EXPECT_THAT(json.stdout_text, HasSubstr("\"outcome\": \"error\", \"http_status\": 422, "));
}

// Fake admin listeners that answer a purge only with the right bearer token: each node gets
// the token of its own line (a path relative to the fleet file), or --token-file's.
TEST_F(FleetCtl, EachNodeGetsTheTokenOfItsLineOrTheDefaultOne) {
    const auto purge_with = [](std::string token) {
        return [token](OriginExchange& x) {
            if (x.request().header("Authorization") == "Bearer " + token) {
                x.respond(200, {}, "{\"purged\": 1}\n");
            } else {
                x.respond(401, {}, "401 missing or wrong token\n");
            }
        };
    };
    ScriptedOrigin own;
    own.on("POST", "/purge/all", purge_with("own-token"));
    ScriptedOrigin fallback;
    fallback.on("POST", "/purge/all", purge_with("default-token"));
    (void)dir_.write_file("own.token", "own-token\n");
    const std::string default_token = dir_.write_file("default.token", "default-token\n").string();
    const std::string file =
        dir_.write_file("tokens.txt", own.address() + " own.token\n" + fallback.address() + "\n")
            .string();
    const ProgramRun run = ctl({"purge", "--all", "--token-file", default_token}, file);
    EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
    EXPECT_THAT(run.stdout_text, HasSubstr("fleet: 2 of 2 nodes ok; purged 2 in all\n"));

    const ProgramRun without = ctl({"purge", "--all"}, file);
    EXPECT_EQ(without.exit_code, 1);
    EXPECT_THAT(line_of(without.stdout_text, fallback.address()),
                ::testing::MatchesRegex(".* error +401 missing or wrong token"));
    EXPECT_THAT(without.stderr_text, HasSubstr("1 of 2 nodes failed: " + fallback.address()));
}

// Nodes that accept and never answer are cut at --timeout, all at once: three of them take
// about one timeout (1 s), not three.
TEST_F(FleetCtl, NodesThatDoNotAnswerAreCutAtTheTimeoutInParallel) {
    std::vector<std::unique_ptr<ScriptedOrigin>> silent;
    std::string lines;
    for (int i = 0; i < 3; ++i) {
        silent.push_back(std::make_unique<ScriptedOrigin>());
        silent.back()->on("POST", "/purge/all",
                          [](OriginExchange& x) { (void)x.wait_for_close(10s); });
        lines += silent.back()->address() + "\n";
    }
    lines += fleet_->admin_address(0) + "\n";
    const std::string file = dir_.write_file("silent.txt", lines).string();
    const auto start = SteadyClock::now();
    const ProgramRun run =
        run_to_exit(lacquerctl_binary(), {"--fleet", file, "--timeout", "1s", "purge", "--all"},
                    dir_.path(), 15s);
    const auto took = std::chrono::duration_cast<Millis>(SteadyClock::now() - start);
    EXPECT_EQ(run.exit_code, 3) << run.stdout_text << run.stderr_text;
    EXPECT_THAT(line_of(run.stdout_text, fleet_->admin_address(0)),
                ::testing::MatchesRegex(".* ok +purged 0 objects"));
    for (const auto& node : silent) {
        EXPECT_THAT(line_of(run.stdout_text, node->address()),
                    ::testing::MatchesRegex(".* unreachable +.*timed out.*"));
    }
    EXPECT_GE(took, 1000ms);
    EXPECT_LT(took, 2500ms) << "the nodes were not asked in parallel";
}

TEST_F(FleetCtl, ABadFleetFileIsRefusedWithFileLineAndColumn) {
    const std::string file = dir_.write_file("bad.txt", "# nodes\n"
                                                        "127.0.0.1:9190\n"
                                                        "  not-an-address\n"
                                                        "127.0.0.1:9191 a.token extra\n"
                                                        "127.0.0.1:9190\n")
                                 .string();
    const ProgramRun run = ctl({"purge", "--all"}, file);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.stdout_text, "");
    EXPECT_THAT(run.stderr_text,
                HasSubstr(file + ":3:3: 'not-an-address' is not an admin address"));
    EXPECT_THAT(run.stderr_text, HasSubstr(file + ":4:24: unexpected 'extra'"));
    EXPECT_THAT(run.stderr_text, HasSubstr(file + ":5:1: 127.0.0.1:9190 is already on line 2"));

    const std::string token = dir_.write_file("t.txt", "127.0.0.1:9190 missing.token\n").string();
    const ProgramRun missing = ctl({"stats"}, token);
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_THAT(missing.stderr_text, HasSubstr(token + ":1:16: cannot read token file '" +
                                               dir_.path().string() + "/missing.token'"));
    const ProgramRun origins = ctl({"origins"});
    EXPECT_EQ(origins.exit_code, 2);
    EXPECT_THAT(origins.stderr_text, HasSubstr("--fleet goes with purge, ban, stats and reload"));
}

} // namespace
} // namespace lacquer::test::fleet
