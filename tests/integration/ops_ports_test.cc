// A port has one owner (issue 15, item 9): lacquerd binds its per-worker SO_REUSEPORT sockets
// only where no socket listens yet, and its admin socket without SO_REUSEPORT, so a second
// lacquerd of the same user cannot silently join the first one's client or admin port and split
// its traffic and scrapes: it exits 1 with "address in use", as nginx and Varnish do. A reload
// that adds a listener still binds it; one whose address is taken is refused.
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string config_on(std::string_view client, std::string_view admin, const ScriptedOrigin& o) {
    return "workers: 2\nlisten:\n  - address: " + std::string(client) +
           "\nadmin:\n  address: " + std::string(admin) +
           "\nlog: { access: off }\norigins:\n  api:\n    servers:\n" +
           "      - address: " + o.address() + "\ndefault_route: { pass: true }\n";
}

// Starts lacquerd on `yaml` and expects it to refuse to start: exit status 1, "address in use".
void expect_refused(std::string_view yaml) {
    LacquerProcess::Options options;
    options.expect_listening = false;
    LacquerProcess second(yaml, options);
    const std::optional<int> status = second.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "the second lacquerd is running (it joined the port):\n"
                                    << second.stdout_text();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "wait status " << *status;
    EXPECT_THAT(second.stderr_text(), HasSubstr("address in use")) << second.stderr_text();
    EXPECT_EQ(second.stdout_text().find("listening on"), std::string::npos) << second.stdout_text();
}

// Every one of `n` new connections is answered by the first lacquerd (its origin says so).
void expect_served_by_first(std::uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
        const Response r = http_get(port, "/who");
        ASSERT_TRUE(r.complete) << "request " << i << ": " << r.summary();
        EXPECT_EQ(r.body, "first") << "request " << i;
    }
}

class OpsPorts : public ::testing::Test {
protected:
    void SetUp() override {
        first_origin_.on_any([](OriginExchange& x) { x.respond(200, {}, "first"); });
        second_origin_.on_any([](OriginExchange& x) { x.respond(200, {}, "second"); });
    }
    ScriptedOrigin first_origin_;
    ScriptedOrigin second_origin_;
};

TEST_F(OpsPorts, ASecondLacquerdOnTheClientPortExits1AndTheFirstKeepsItsTraffic) {
    LacquerProcess first(config_on("127.0.0.1:0", "127.0.0.1:0", first_origin_));
    ASSERT_TRUE(first.started());
    expect_refused(config_on(first.address(), "127.0.0.1:0", second_origin_));
    // The wildcard covers the first one's address too.
    expect_refused(
        config_on("0.0.0.0:" + std::to_string(first.port()), "127.0.0.1:0", second_origin_));
    expect_served_by_first(first.port(), 20);
}

TEST_F(OpsPorts, ASecondLacquerdOnTheAdminPortExits1AndTheFirstKeepsItsScrapes) {
    LacquerProcess first(config_on("127.0.0.1:0", "127.0.0.1:0", first_origin_));
    ASSERT_TRUE(first.started());
    ASSERT_NE(first.admin_port(), 0);
    expect_refused(config_on("127.0.0.1:0", "127.0.0.1:" + std::to_string(first.admin_port()),
                             second_origin_));
    for (int i = 0; i < 10; ++i) {
        HttpClient scrape;
        ASSERT_TRUE(scrape.connect(first.admin_port()));
        const Response r = scrape.get("/healthz");
        EXPECT_EQ(r.status, 200) << r.summary();
    }
    expect_served_by_first(first.port(), 5);
}

TEST_F(OpsPorts, APortAnotherProgramListensOnIsRefused) {
    // The origin is any other program's listening socket.
    expect_refused(config_on(first_origin_.address(), "127.0.0.1:0", second_origin_));
}

// `yaml` with its listen list replaced by `addresses`.
std::string with_listeners(std::string yaml, const std::vector<std::string>& addresses) {
    std::string list = "listen:\n";
    for (const std::string& a : addresses) {
        list += "  - address: " + a + "\n";
    }
    const std::size_t from = yaml.find("listen:\n");
    const std::size_t to = yaml.find('\n', yaml.find("address:", from)) + 1;
    return yaml.replace(from, to - from, list);
}

TEST_F(OpsPorts, AReloadAddsListenersButNoneOnAPortTaken) {
    const std::string yaml = TestConfig()
                                 .origin(first_origin_.address())
                                 .extra("default_route: { pass: true }\n")
                                 .yaml();
    LacquerProcess proxy(yaml);
    ASSERT_TRUE(proxy.started());
    // Another program listens there: refused, the running config stays.
    proxy.rewrite_config(with_listeners(yaml, {"127.0.0.1:0", second_origin_.address()}));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("reload refused", 5s)) << proxy.stderr_text();
    EXPECT_THAT(proxy.stderr_text(),
                HasSubstr("cannot listen on " + second_origin_.address() + ": address in use"));
    expect_served_by_first(proxy.port(), 3);
    // Its own port, written out instead of 0, is the listener it has: kept, not bound again.
    proxy.rewrite_config(with_listeners(yaml, {proxy.address(), "127.0.0.1:0"}));
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.wait_for_stderr("(generation 2,", 5s)) << proxy.stderr_text();
    ASSERT_TRUE(proxy.wait_for_stdout("(worker threads: 2)\nlistening on", 5s))
        << proxy.stdout_text();
    expect_served_by_first(proxy.port(), 3);
    const std::string out = proxy.stdout_text();
    const std::size_t added = out.rfind("listening on 127.0.0.1:");
    const auto port =
        static_cast<std::uint16_t>(std::stoi(out.substr(added + sizeof "listening on 127.0.0.1")));
    EXPECT_NE(port, proxy.port());
    expect_served_by_first(port, 3);
}

} // namespace
} // namespace lacquer::test
