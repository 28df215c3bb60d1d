// Safe defaults for the admin plane (issue 15, item 10): an admin address other machines can
// reach needs a token (a config error otherwise, FILE:LINE:COL); the admin token is never
// forwarded to an origin, whatever client header carries it; and the open-files limit is raised
// to what max_connections needs, or lacquerd says it is short.
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <sys/resource.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
)";

TEST(OpsAdminPlane, CheckConfigRefusesAnAdminOtherMachinesReachWithoutAToken) {
    const std::string base = "listen:\n  - address: 127.0.0.1:0\norigins:\n  api:\n"
                             "    servers:\n      - address: 127.0.0.1:9000\n";
    const auto open = LacquerProcess::run_check_config(base + "admin:\n  address: 0.0.0.0:9190\n");
    EXPECT_EQ(open.exit_code, 2);
    EXPECT_THAT(open.stderr_text,
                HasSubstr(open.config_path + ":8:12: admin.address: 0.0.0.0:9190 is reachable "
                                             "from other machines: set admin.token_file too"));
    const auto with_token = LacquerProcess::run_check_config(
        base + "admin:\n  address: 0.0.0.0:9190\n  token_file: /etc/lacquer/admin.token\n");
    EXPECT_EQ(with_token.exit_code, 0) << with_token.stderr_text;
    const auto loopback =
        LacquerProcess::run_check_config(base + "admin:\n  address: '[::1]:9190'\n");
    EXPECT_EQ(loopback.exit_code, 0) << loopback.stderr_text;
}

TEST(OpsAdminPlane, TheAdminTokenNeverReachesAnOrigin) {
    const std::string token = "adm1n-t0ken-7f3a9c";
    TempDir dir;
    const auto token_file = dir.write_file("admin.token", token + "\n");
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "origin " + x.request().target);
    });
    LacquerProcess proxy(
        caching_config(origin, kRoutes)
            .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token_file.string() + "\n"));
    ASSERT_TRUE(proxy.started());
    const HeaderFields carrying{{"Host", "api.test"},
                                {"Authorization", "Bearer " + token},
                                {"Cookie", "a=1; admin=" + token + "; b=2"},
                                {"X-Note", "before " + token + " after"},
                                {"X-Forwarded-For", token},
                                {"X-Other", "fine"}};
    // Ordinary requests on the client port, passed and cached, with and without a body.
    for (const char* target : {"/p/one", "/c/two", "/metrics"}) {
        const Response r = proxy.get(target, carrying);
        EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
        EXPECT_EQ(r.body, std::string("origin ") + target);
    }
    HttpClient post;
    ASSERT_TRUE(post.connect(proxy.port()));
    EXPECT_EQ(post.request("POST", "/p/three", carrying, "body").status, 200);

    // A request whose authority carries the token is refused: the origin would get it as Host.
    EXPECT_EQ(proxy.get("/p/four", {{"Host", token + ".example"}}).status, 400);

    const std::vector<ReceivedRequest> received = origin.requests();
    ASSERT_EQ(received.size(), 4u);
    for (const ReceivedRequest& request : received) {
        for (const auto& [name, value] : request.headers) {
            EXPECT_THAT(value, Not(HasSubstr(token))) << request.target << " " << name;
            EXPECT_THAT(name, Not(HasSubstr(token))) << request.target;
        }
        if (request.target.starts_with("/p/")) { // a pass: the rest goes on (a shared fetch on
            EXPECT_EQ(request.header("X-Other"), "fine") << request.target; // a named route
        } // forwards only the representation headers: edge_trust_test.cc)
        EXPECT_EQ(request.header("X-Forwarded-For"), "127.0.0.1") << request.target;
    }
}

// The soft RLIMIT_NOFILE of process `pid` (from /proc), or -1.
long open_files_soft_limit(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("Max open files")) {
            std::istringstream fields(line.substr(sizeof "Max open files"));
            long soft = -1;
            fields >> soft;
            return soft;
        }
    }
    return -1;
}

LacquerProcess::Options under_prlimit(rlim_t soft, rlim_t hard) {
    LacquerProcess::Options options;
    options.wrapper = {"/usr/bin/prlimit",
                       "--nofile=" + std::to_string(soft) + ":" + std::to_string(hard)};
    return options;
}

TEST(OpsAdminPlane, ALowOpenFilesSoftLimitIsRaisedToTheHardOne) {
    rlimit ours{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &ours), 0);
    if (!std::filesystem::exists("/usr/bin/prlimit") || ours.rlim_max < 4096) {
        GTEST_SKIP() << "needs /usr/bin/prlimit (util-linux) and a hard limit of 4096 or more";
    }
    const rlim_t hard = std::min<rlim_t>(ours.rlim_max, 65536);
    ScriptedOrigin origin;
    // 1000 clients + 2 listening + 256 origin connections + 72 more: far above 256, below hard.
    LacquerProcess proxy(TestConfig().origin(origin.address()).limit("max_connections", "1000"),
                         under_prlimit(256, hard));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(open_files_soft_limit(proxy.pid()), static_cast<long>(hard));
    EXPECT_THAT(proxy.stderr_text(), Not(HasSubstr("RLIMIT_NOFILE")));
}

TEST(OpsAdminPlane, AnOpenFilesLimitTooLowForMaxConnectionsIsReported) {
    if (!std::filesystem::exists("/usr/bin/prlimit")) {
        GTEST_SKIP() << "needs /usr/bin/prlimit (util-linux)";
    }
    ScriptedOrigin origin;
    LacquerProcess proxy(TestConfig().origin(origin.address()), under_prlimit(256, 512));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(open_files_soft_limit(proxy.pid()), 512); // raised as far as it goes
    // stderr is read by its own thread: "started" (stdout) may come before the warning is in.
    EXPECT_TRUE(proxy.wait_for_stderr("RLIMIT_NOFILE", 5s)) << proxy.stderr_text();
    EXPECT_THAT(proxy.stderr_text(),
                HasSubstr("lacquerd: warning: the open files limit (RLIMIT_NOFILE) is 512 (was "
                          "256, hard limit 512), but this config needs about 20330 "
                          "(limits.max_connections 20000, 2 listening sockets, 256 origin "
                          "connections, 72 more)"));
}

} // namespace
} // namespace lacquer::test
