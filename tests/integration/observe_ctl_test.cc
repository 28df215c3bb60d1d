// lacquerctl log, top and inspect, the real binary, against the real lacquerd: the filters on
// its command line reach lacquerd, `top --once` ranks the URLs of a known request mix, and
// `inspect` prints one URL's stored variants.
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

namespace lacquer::test {
namespace {

using namespace cache_test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kRoutes = R"(variants:
  locale:
    sources: [header:X-Lang]
    values: [en-US, de-DE, fr-FR]
    default: en-US
    forward_header: X-Locale
routes:
  - name: top
    match: { path_prefix: /top/ }
    cache: { key_params: all, ttl: 60s, variants: [locale] }
)";

const HeaderFields kApi{{"Host", "api.test"}};

class ObserveCtl : public ::testing::Test {
protected:
    void SetUp() override {
        origin_.on_any([](OriginExchange& x) {
            const bool no_store = x.request().path.starts_with("/top/nostore");
            x.respond(200, {{"Cache-Control", no_store ? "no-store" : "max-age=600"}},
                      "body of " + x.request().target);
        });
        token_file_ = dir_.write_file("admin.token", "s3cret\n").string();
        proxy_ = std::make_unique<LacquerProcess>(
            caching_config(origin_, kRoutes)
                .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token_file_ + "\n"));
        ASSERT_TRUE(proxy_->started());
    }
    std::vector<std::string> ctl_args(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--admin", "127.0.0.1:" + std::to_string(proxy_->admin_port()),
                                   "--token-file", token_file_});
        return args;
    }
    ProgramRun ctl(std::vector<std::string> args) const {
        return run_to_exit(LACQUERCTL_BIN, ctl_args(std::move(args)), dir_.path(), 15s);
    }
    // Starts lacquerctl in the background and waits until lacquerd counts `watchers` watchers.
    void start(ChildProcess& child, std::string_view name, std::vector<std::string> args,
               double watchers) {
        std::string error;
        ASSERT_TRUE(
            child.start(LACQUERCTL_BIN, ctl_args(std::move(args)), dir_.path(), name, error))
            << error;
        ASSERT_TRUE(expect_metric(proxy_->admin_port(), "lacquer_transaction_log_watchers",
                                  watchers, 5s, ""));
    }
    static int exit_code(ChildProcess& child) {
        const std::optional<int> status = child.wait_exit(10s);
        return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    }

    TempDir dir_{"observe-ctl"};
    std::string token_file_;
    ScriptedOrigin origin_;
    std::unique_ptr<LacquerProcess> proxy_;
};

TEST_F(ObserveCtl, LogPrintsTheRecordsItsFiltersSelectAndStopsAtCount) {
    ChildProcess log;
    start(log, "log", {"log", "--url", "^/top/b", "--cache-status", "hit", "--count", "2"}, 1);
    for (const char* target : {"/top/a", "/top/b", "/top/b", "/top/a", "/top/b"}) {
        EXPECT_EQ(proxy_->get(target, kApi).status, 200) << target;
    }
    EXPECT_EQ(exit_code(log), 0) << log.stderr_text();
    const std::string out = log.stdout_text();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
    EXPECT_THAT(out, HasSubstr(" GET api.test /top/b 200 hit route=top "));
    EXPECT_THAT(out, Not(HasSubstr("/top/a")));
    EXPECT_THAT(out, Not(HasSubstr(" miss ")));

    // A filter lacquerd refuses: its message, exit status 1.
    const ProgramRun bad = ctl({"log", "--status", "7xx"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.stderr_text, HasSubstr("lacquerctl: /log: 400 Bad Request: status:"));
    // One lacquerctl refuses itself: exit status 2.
    EXPECT_EQ(ctl({"top", "--by", "colour"}).exit_code, 2);
    EXPECT_EQ(ctl({"log", "--once"}).exit_code, 2);
}

TEST_F(ObserveCtl, TopOnceRanksTheUrlsOfAKnownMix) {
    ChildProcess by_misses;
    ChildProcess by_hits;
    start(by_misses, "top-misses", {"top", "--once", "--window", "3s", "--url", "^/top/"}, 1);
    start(by_hits, "top-hits", {"top", "--once", "--window", "3s", "--by", "hits"}, 2);
    // nostore: 3 misses; cached: 1 miss, 3 hits; other: 1 miss.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(proxy_->get("/top/nostore", kApi).status, 200);
    }
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(proxy_->get("/top/cached", kApi).status, 200);
    }
    EXPECT_EQ(proxy_->get("/top/other", kApi).status, 200);
    EXPECT_EQ(exit_code(by_misses), 0) << by_misses.stderr_text();
    EXPECT_EQ(exit_code(by_hits), 0) << by_hits.stderr_text();
    const std::string misses = by_misses.stdout_text();
    EXPECT_THAT(misses,
                StartsWith("lacquer top by misses over the last 3.000s: 8 requests, 3 URLs\n"
                           "    REQS   MISSES     HITS    ORIGIN_MS        BYTES  URL\n"));
    // Ties (one miss each) in URL order.
    const std::size_t nostore = misses.find("api.test /top/nostore\n");
    const std::size_t cached = misses.find("api.test /top/cached\n");
    const std::size_t other = misses.find("api.test /top/other\n");
    ASSERT_NE(nostore, std::string::npos) << misses;
    ASSERT_NE(cached, std::string::npos) << misses;
    ASSERT_NE(other, std::string::npos) << misses;
    EXPECT_LT(nostore, cached);
    EXPECT_LT(cached, other);
    EXPECT_THAT(misses, HasSubstr("       3        3        0 "));
    EXPECT_THAT(misses, HasSubstr("       4        1        3 "));
    const std::string hits = by_hits.stdout_text();
    const std::size_t first = hits.find("api.test /top/");
    ASSERT_NE(first, std::string::npos) << hits;
    EXPECT_EQ(hits.substr(first, hits.find('\n', first) - first), "api.test /top/cached") << hits;
}

TEST_F(ObserveCtl, InspectPrintsEveryStoredVariant) {
    for (const char* lang : {"en-US", "de-DE", "fr-FR"}) {
        EXPECT_EQ(proxy_->get("/top/item?x=1", {{"Host", "api.test"}, {"X-Lang", lang}})
                      .header("Cache-Status"),
                  kStored);
    }
    const ProgramRun run = ctl({"inspect", "http://api.test/top/item?x=1"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_THAT(run.stdout_text, StartsWith("url /top/item?x=1 host api.test\nroute top\n"
                                            "key G | api.test | /top/item | x=1\n"
                                            "fetch in flight: no\n3 stored variants\n"));
    for (const char* lang : {"en-US", "de-DE", "fr-FR"}) {
        EXPECT_THAT(run.stdout_text, HasSubstr(std::string("variant locale=") + lang +
                                               "\n"
                                               "  status 200, fresh, age "));
    }
    const ProgramRun json = ctl({"--json", "inspect", "/top/item?x=1", "--host", "api.test"});
    EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
    EXPECT_THAT(json.stdout_text, StartsWith("{\"url\": \"/top/item?x=1\", \"host\": \"api.test\", "
                                             "\"route\": \"top\""));
    const ProgramRun none = run_to_exit(
        LACQUERCTL_BIN,
        {"--admin", "127.0.0.1:" + std::to_string(proxy_->admin_port()), "inspect", "/top/item"},
        dir_.path(), 15s);
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_THAT(none.stderr_text, HasSubstr("401"));
}

} // namespace
} // namespace lacquer::test
