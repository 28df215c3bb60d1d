// Origin server names are re-resolved (issue 17 item 6): when a name resolves to another address,
// the pools are rebuilt from the running config and requests go to the new server; a name that
// stops resolving keeps its last address. The resolver is the test's, the clock a manual one.
#include "lacquer/config/load.h"
#include "support/deadline.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"

#include <chrono>
#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <thread>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

// "api.test" resolves to whatever origin the test points it at (the port asked is ignored);
// pointed at nothing, it does not resolve.
class PointedName {
public:
    void point_at(std::uint16_t port) {
        std::lock_guard<std::mutex> lock(mutex_);
        port_ = port;
    }
    origin::NameBook::Resolver resolver() {
        return [this](const std::string& host, std::uint16_t, std::string& error) {
            std::vector<net::SocketAddress> out;
            std::lock_guard<std::mutex> lock(mutex_);
            if (host != "api.test" || port_ == 0) {
                error = "Name or service not known";
                return out;
            }
            std::string ignored;
            out.push_back(*net::resolve("127.0.0.1", port_, ignored));
            return out;
        };
    }

private:
    std::mutex mutex_;
    std::uint16_t port_ = 0;
};

std::string yaml() {
    return TestConfig()
        .workers(2)
        .origin("api.test:80")
        .origin_setting("resolve_every: 1s")
        .extra("default_route: { pass: true }\n")
        .yaml();
}

// Asks until the answer's body is `want` (the rebuild runs on the resolver's thread).
bool answers(InProcessLacquer& proxy, const std::string& want) {
    return eventually(5s, [&] { return proxy.get("/who").body == want; });
}

TEST(OriginNames, ANameThatMovesIsFollowedAndOneThatStopsResolvingKeepsItsAddress) {
    ScriptedOrigin a;
    ScriptedOrigin b;
    a.on_any([](OriginExchange& ex) { ex.send(200, "a"); });
    b.on_any([](OriginExchange& ex) { ex.send(200, "b"); });
    PointedName dns;
    dns.point_at(a.port());
    InProcessLacquer proxy(yaml(), dns.resolver());
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(proxy.get("/who").body, "a");

    dns.point_at(b.port());
    EXPECT_EQ(proxy.get("/who").body, "a"); // not due yet: the clock has not moved
    proxy.advance(1s);
    ASSERT_TRUE(answers(proxy, "b"));

    dns.point_at(0); // the name no longer resolves: the last address stays
    proxy.advance(1s);
    proxy.advance(1s);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(proxy.get("/who").body, "b");
    }
    dns.point_at(a.port());
    proxy.advance(1s);
    ASSERT_TRUE(answers(proxy, "a"));
}

TEST(OriginNames, ANameThatNeverResolvedIsAConfigErrorAtItsLine) {
    PointedName dns; // points nowhere
    core::ManualClock clock;
    try {
        server::Server server(config::load_config_string(yaml(), "names.yaml"), {}, clock,
                              dns.resolver());
        ADD_FAILURE() << "a name that does not resolve was accepted";
    } catch (const config::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "cannot resolve origin server 'api.test:80': Name or service not known"),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).rfind("names.yaml:", 0), 0u) << e.what();
    }
}

} // namespace
} // namespace lacquer::test
