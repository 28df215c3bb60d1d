// lacquerctl, the real binary, against the real lacquerd in front of the demo origin (or a
// scripted one for tags): what it prints is compared with what lacquerd counted, what a purge
// removes is proven by the origin's request counter, and every exit status is reached.
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/demo_origin_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace cache_test;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const HeaderFields kApi{{"Host", "api.test"}};

std::string lacquerctl_binary() {
    if (const char* env = std::getenv("LACQUERCTL"); env != nullptr && *env != '\0') {
        return env;
    }
    return LACQUERCTL_BIN;
}

std::string python3_binary() {
    if (const char* env = std::getenv("LACQUER_PYTHON3"); env != nullptr && *env != '\0') {
        return env;
    }
    return LACQUER_PYTHON3_BIN;
}

// Runs lacquerctl with `args`; bounded, so a hanging lacquerctl fails the test instead.
ProgramRun lacquerctl(const std::vector<std::string>& args) {
    TempDir dir("lacquerctl-run");
    return run_to_exit(lacquerctl_binary(), args, dir.path(), 15s);
}

// The value of `"key": N` in a flat JSON object, or -1.
long long json_number(std::string_view json, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\": ";
    const std::size_t at = json.find(quoted);
    long long value = -1;
    if (at != std::string_view::npos) {
        const char* begin = json.data() + at + quoted.size();
        std::from_chars(begin, json.data() + json.size(), value);
    }
    return value;
}

class LacquerCtl : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(origin_.started());
        token_file_ = dir_.write_file("admin.token", "s3cret\n").string();
        proxy_ = std::make_unique<LacquerProcess>(
            TestConfig()
                .origin(origin_.address())
                .storage("memory", "64MiB")
                .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token_file_ + "\n")
                .extra(std::string(kCachedPassedRejected)));
        ASSERT_TRUE(proxy_->started());
        ASSERT_NE(proxy_->admin_port(), 0);
    }

    std::string admin_address() const {
        return "127.0.0.1:" + std::to_string(proxy_->admin_port());
    }
    // lacquerctl with the admin address and the token on its command line.
    ProgramRun ctl(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--admin", admin_address(), "--token-file", token_file_});
        return lacquerctl(args);
    }
    // A config for lacquerctl alone: lacquerd's own has port 0, this one the bound port.
    std::string ctl_config(bool with_token) const {
        std::string admin = "admin:\n  address: " + admin_address() + "\n";
        if (with_token) {
            admin += "  token_file: " + token_file_ + "\n";
        }
        const std::string name = with_token ? "ctl-token.yaml" : "ctl-no-token.yaml";
        return dir_.write_file(name, TestConfig().origin(origin_.address()).extra(admin).yaml())
            .string();
    }

    std::string cache_status(std::string_view target) const {
        const Response r = proxy_->get(target, kApi);
        EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
        return r.header("Cache-Status");
    }
    // Stores `target`: one miss that the origin answers, then a hit.
    void store(std::string_view target) const {
        ASSERT_EQ(cache_status(target), kStored) << target;
        ASSERT_EQ(cache_status(target), kHit) << target;
    }

    DemoOriginProcess origin_;
    TempDir dir_{"lacquerctl-test"};
    std::string token_file_;
    std::unique_ptr<LacquerProcess> proxy_;
};

TEST_F(LacquerCtl, StatusShowsLiveReadyWorkersAndTheOriginServer) {
    const ProgramRun run = ctl({"status"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_THAT(run.stdout_text, StartsWith("lacquerd     "));
    EXPECT_THAT(run.stdout_text, HasSubstr(" at " + admin_address() + "\n"));
    EXPECT_THAT(run.stdout_text, HasSubstr("live         yes\n"
                                           "ready        yes\n"
                                           "workers      2\n"));
    EXPECT_THAT(run.stdout_text, HasSubstr("origins      1 up, 0 down\n"
                                           "  api " +
                                           origin_.address() + " up\n"));
    EXPECT_EQ(run.stderr_text, "");
}

TEST_F(LacquerCtl, OriginsListsEveryServerAndOriginDrainsAndEnablesOne) {
    const std::string server = origin_.address();
    const ProgramRun list = ctl({"origins"});
    EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
    EXPECT_THAT(list.stdout_text, StartsWith("POOL "));
    EXPECT_THAT(list.stdout_text, HasSubstr("LAST_PROBE"));
    EXPECT_THAT(list.stdout_text, HasSubstr("api          " + server));
    EXPECT_THAT(list.stdout_text, HasSubstr(" healthy "));

    const ProgramRun drain = ctl({"origin", "drain", "api", server});
    EXPECT_EQ(drain.exit_code, 0) << drain.stderr_text;
    EXPECT_EQ(drain.stdout_text, "origin api server " + server + " is now draining\n");
    const ProgramRun json = ctl({"origins", "--json"});
    EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
    EXPECT_THAT(json.stdout_text,
                HasSubstr("\"server\": \"" + server + "\", \"state\": \"draining\""));
    // The only server drained: nothing takes requests, so lacquerd is not ready.
    EXPECT_EQ(ctl({"status"}).exit_code, 1);

    const ProgramRun enable = ctl({"origin", "enable", "api", server});
    EXPECT_EQ(enable.exit_code, 0) << enable.stderr_text;
    EXPECT_THAT(enable.stdout_text, HasSubstr("is now healthy"));
    EXPECT_EQ(ctl({"status"}).exit_code, 0);

    const ProgramRun unknown = ctl({"origin", "disable", "api", "10.9.9.9:1"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_THAT(unknown.stderr_text, HasSubstr("has no server '10.9.9.9:1'"));
    // Without the token: refused like the other admin actions.
    const ProgramRun no_token =
        lacquerctl({"--admin", admin_address(), "origin", "drain", "api", server});
    EXPECT_EQ(no_token.exit_code, 1);
}

TEST_F(LacquerCtl, RoutesPrintsEachRoutesLastRequestAndRecentCounts) {
    store("/c/routes"); // two requests to "cached"
    // A request is counted when it ends, which may be just after its client has the answer.
    ASSERT_TRUE(proxy_->wait_for_metric("lacquer_requests_total", 2, 5s));
    const ProgramRun table = ctl({"routes"});
    EXPECT_EQ(table.exit_code, 0) << table.stderr_text;
    EXPECT_THAT(table.stdout_text, StartsWith("ROUTE "));
    EXPECT_THAT(table.stdout_text,
                ContainsRegex("\ncached +20[0-9-]+T[0-9:]+Z +[0-9]+s ago +2 +2 +2\n"));
    EXPECT_THAT(table.stdout_text, HasSubstr("\npassed   -                     never "));
    const ProgramRun json = ctl({"routes", "--json"});
    EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
    EXPECT_THAT(json.stdout_text, HasSubstr("{\"route\": \"cached\", \"last_request\": "));
    EXPECT_THAT(json.stdout_text, HasSubstr("\"requests_1h\": 2, \"requests_24h\": 2, "
                                            "\"requests_7d\": 2}"));
    // The token guards it, as it guards /stats.
    const ProgramRun refused = lacquerctl({"--admin", admin_address(), "routes"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.stderr_text, HasSubstr("/routes: 401"));
}

TEST_F(LacquerCtl, StatsPrintsTheFiguresLacquerdCounted) {
    store("/c/stats-a"); // miss, hit
    ASSERT_EQ(cache_status("/c/stats-a"), kHit);
    ASSERT_EQ(cache_status("/c/stats-b"), kStored);
    ASSERT_EQ(cache_status("/p/stats"), kBypass);
    ASSERT_TRUE(proxy_->wait_for_metric("lacquer_requests_total", 5, 5s)); // all five counted
    const Response store_stats =
        http_get(proxy_->admin_port(), "/stats", {{"Authorization", "Bearer s3cret"}}, 5s);
    ASSERT_EQ(store_stats.status, 200) << store_stats.summary();
    const long long bytes = json_number(store_stats.body, "bytes");
    ASSERT_GT(bytes, 0) << store_stats.body;

    const ProgramRun run = ctl({"stats"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_THAT(run.stdout_text,
                HasSubstr("hit ratio    50.0% (2 of 4 cacheable requests since start)\n"
                          "requests     hit 2, miss 2, pass 1\n"
                          "objects      2\n"));
    EXPECT_THAT(run.stdout_text, HasSubstr(" (" + std::to_string(bytes) + ") of 64.0 MiB\n"));
    EXPECT_THAT(run.stdout_text, HasSubstr("evictions    0\n"
                                           "origins      1 up, 0 down\n"));
    EXPECT_EQ(origin_.count("/c/stats-a"), 1u);
}

TEST_F(LacquerCtl, SoftPurgeLeavesTheObjectServedStaleWhileItIsRefreshed) {
    store("/c/soft");
    const ProgramRun run = ctl({"purge", "--soft", "/c/soft"});
    ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "purged 1 object\n");
    EXPECT_EQ(cache_status("/c/soft"), "lacquer; hit; fwd=stale"); // kept, and refreshing
    // One background refresh reaches the origin (the demo origin's counters are polled).
    EXPECT_TRUE(eventually(5s, [&] { return origin_.count("/c/soft") >= 2; }));
    EXPECT_EQ(origin_.count("/c/soft"), 2u);
}

TEST_F(LacquerCtl, JsonOutputParsesAndHoldsTheSameFigures) {
    store("/c/json");
    ASSERT_TRUE(proxy_->wait_for_metric("lacquer_requests_total", 2, 5s));
    const ProgramRun stats = ctl({"stats", "--json"});
    ASSERT_EQ(stats.exit_code, 0) << stats.stderr_text;
    const ProgramRun status = ctl({"--json", "status"});
    ASSERT_EQ(status.exit_code, 0) << status.stderr_text;
    const ProgramRun purge = ctl({"purge", "--json", "/c/json"});
    ASSERT_EQ(purge.exit_code, 0) << purge.stderr_text;
    EXPECT_EQ(purge.stdout_text, "{\"purged\": 1}\n");

    // Python's json module is the judge of "parses"; it prints the figures the test checks.
    const auto stats_file = dir_.write_file("stats.json", stats.stdout_text);
    const auto status_file = dir_.write_file("status.json", status.stdout_text);
    const ProgramRun parsed =
        run_to_exit(python3_binary(),
                    {"-c",
                     "import json, sys\n"
                     "s = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))\n"
                     "print(s['hit_ratio'], s['hits'], s['cacheable_requests'], s['objects'],\n"
                     "      s['origin_servers_up'], s['origin_servers'][0]['up'],\n"
                     "      t['live'], t['ready'], t['workers'], t['stats']['objects'])\n",
                     stats_file.string(), status_file.string()},
                    dir_.path(), 15s);
    EXPECT_EQ(parsed.exit_code, 0) << parsed.stderr_text << "\n" << stats.stdout_text;
    EXPECT_EQ(parsed.stdout_text, "0.5 1 2 1 1 True True True 2 1\n");
}

TEST_F(LacquerCtl, PurgeUrlSendsTheNextRequestToTheOrigin) {
    store("/c/item?id=1");
    store("/c/item?id=2");
    ASSERT_EQ(origin_.count("/c/item?id=1"), 1u);

    const ProgramRun run = ctl({"purge", "/c/item?id=1"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "purged 1 object\n");
    EXPECT_EQ(cache_status("/c/item?id=1"), kStored); // a miss again
    EXPECT_EQ(origin_.count("/c/item?id=1"), 2u);
    EXPECT_EQ(cache_status("/c/item?id=2"), kHit); // the other URL stays
    EXPECT_EQ(origin_.count("/c/item?id=2"), 1u);

    // As a browser shows it: the host of an absolute URL limits the purge to that host.
    EXPECT_EQ(ctl({"purge", "http://other.test/c/item?id=2"}).stdout_text, "purged 0 objects\n");
    EXPECT_EQ(ctl({"purge", "http://api.test/c/item?id=2"}).stdout_text, "purged 1 object\n");
    EXPECT_EQ(cache_status("/c/item?id=2"), kStored);
    EXPECT_EQ(origin_.count("/c/item?id=2"), 2u);
}

TEST_F(LacquerCtl, PurgePrefixTakesThatPathOnly) {
    store("/c/pre/1");
    store("/c/pre/2");
    store("/c/other");
    const ProgramRun run = ctl({"purge", "--prefix", "/c/pre/"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "purged 2 objects\n");
    EXPECT_EQ(cache_status("/c/pre/1"), kStored);
    EXPECT_EQ(origin_.count("/c/pre/1"), 2u);
    EXPECT_EQ(cache_status("/c/other"), kHit);
    EXPECT_EQ(origin_.count("/c/other"), 1u);
}

TEST_F(LacquerCtl, BanTakesWhatTheRegexMatchesAndABadRegexIsRefused) {
    store("/c/ban/1");
    store("/c/ban/22");
    store("/c/ban/x");
    const ProgramRun run = ctl({"ban", "^/c/ban/[0-9]+$"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "banned 2 objects\n");
    EXPECT_EQ(cache_status("/c/ban/22"), kStored);
    EXPECT_EQ(origin_.count("/c/ban/22"), 2u);
    EXPECT_EQ(cache_status("/c/ban/x"), kHit);

    const ProgramRun bad = ctl({"ban", "("});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_EQ(bad.stdout_text, "");
    EXPECT_THAT(bad.stderr_text, HasSubstr("400 Bad Request: the regex does not compile"));
}

TEST_F(LacquerCtl, TheTokenIsRequiredAndTheConfigCanSupplyIt) {
    store("/c/token");
    const ProgramRun without = lacquerctl({"--config", ctl_config(false), "purge", "--all"});
    EXPECT_EQ(without.exit_code, 1);
    EXPECT_EQ(without.stdout_text, "");
    EXPECT_THAT(without.stderr_text, HasSubstr("/purge/all: 401 Unauthorized"));
    const auto wrong = dir_.write_file("wrong.token", "guess\n");
    EXPECT_EQ(
        lacquerctl({"--admin", admin_address(), "--token-file", wrong.string(), "stats"}).exit_code,
        1);
    EXPECT_EQ(cache_status("/c/token"), kHit); // nothing was purged

    // Without the token, status still shows what needs none, and says what it could not get.
    const ProgramRun status = lacquerctl({"--config", ctl_config(false), "status"});
    EXPECT_EQ(status.exit_code, 1);
    EXPECT_THAT(status.stdout_text, HasSubstr("ready        yes\n"));
    EXPECT_THAT(status.stderr_text, HasSubstr("/stats: 401 Unauthorized"));

    // The address and the token, both from the config file.
    const ProgramRun with = lacquerctl({"--config", ctl_config(true), "purge", "--all"});
    EXPECT_EQ(with.exit_code, 0) << with.stderr_text;
    EXPECT_EQ(with.stdout_text, "purged 1 object\n");
    EXPECT_EQ(cache_status("/c/token"), kStored);
}

TEST_F(LacquerCtl, UnreachableOrSilentAdminListenersExitThree) {
    // A listener that accepts (in the kernel) but never answers: the timeout ends the wait.
    std::uint16_t silent_port = 0;
    std::string error;
    const UniqueFd silent = listen_loopback(silent_port, error);
    ASSERT_TRUE(silent.valid()) << error;
    const auto started = SteadyClock::now();
    const ProgramRun timed_out =
        lacquerctl({"--admin", "127.0.0.1:" + std::to_string(silent_port), "--token-file",
                    token_file_, "--timeout", "300ms", "stats"});
    EXPECT_EQ(timed_out.exit_code, 3);
    EXPECT_THAT(timed_out.stderr_text, HasSubstr("timed out"));
    EXPECT_LT(SteadyClock::now() - started, 5s);

    // lacquerd stopped: nothing listens on its admin port any more.
    const std::string address = admin_address();
    ASSERT_TRUE(proxy_->send_signal(SIGTERM));
    ASSERT_TRUE(proxy_->wait_exit(10s).has_value());
    const ProgramRun refused =
        lacquerctl({"--admin", address, "--token-file", token_file_, "status"});
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_EQ(refused.stdout_text, "");
    EXPECT_THAT(refused.stderr_text, HasSubstr("cannot connect to " + address));
}

TEST(LacquerCtlUsage, BadCommandLinesExitTwoAndHelpAndVersionExitZero) {
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"flush"},
        {"purge"},
        {"purge", "no-slash"},
        {"--timeout", "soon", "status"},
        {"--verbose", "status"},
        {"--admin", "no-port", "--token-file", "/dev/null", "status"},
        {"--config", "/nonexistent/lacquer.yaml", "status"},
    };
    for (const auto& args : bad) {
        const ProgramRun run = lacquerctl(args);
        EXPECT_EQ(run.exit_code, 2) << ::testing::PrintToString(args);
        EXPECT_EQ(run.stdout_text, "");
        EXPECT_THAT(run.stderr_text, StartsWith("lacquerctl: "));
    }
    const ProgramRun help = lacquerctl({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_THAT(help.stdout_text, StartsWith("usage: lacquerctl"));
    EXPECT_THAT(help.stdout_text, HasSubstr("exit status"));
    const ProgramRun version = lacquerctl({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_THAT(version.stdout_text, StartsWith("lacquerctl "));
}

TEST(LacquerCtlTags, PurgeTagTakesTheObjectsWhoseTagsHeaderNamedIt) {
    ScriptedOrigin origin;
    answer_tagged_items(origin);
    TempDir dir("lacquerctl-tags");
    const std::string token = dir.write_file("admin.token", "t0ken").string();
    LacquerProcess proxy(
        caching_config(origin, kTaggedItemsRoute)
            .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token + "\n"));
    ASSERT_TRUE(proxy.started());
    for (const char* path : {"/items/1", "/items/12"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored);
    }
    const std::vector<std::string> admin = {
        "--admin", "127.0.0.1:" + std::to_string(proxy.admin_port()), "--token-file", token};
    auto with = [&admin](std::vector<std::string> args) {
        args.insert(args.begin(), admin.begin(), admin.end());
        return args;
    };
    const ProgramRun one = lacquerctl(with({"purge", "--tag", "item-1"}));
    EXPECT_EQ(one.exit_code, 0) << one.stderr_text;
    EXPECT_EQ(one.stdout_text, "purged 1 object\n");
    EXPECT_EQ(proxy.get("/items/1").header("Cache-Status"), kStored);
    EXPECT_EQ(fetches(origin, "/items/1"), 2u);
    EXPECT_EQ(proxy.get("/items/12").header("Cache-Status"), kHit); // another tag
    EXPECT_EQ(fetches(origin, "/items/12"), 1u);
    EXPECT_EQ(lacquerctl(with({"purge", "--tag=items"})).stdout_text, "purged 2 objects\n");
}

} // namespace
} // namespace lacquer::test
