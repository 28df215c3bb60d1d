// The command line as scripts use it: --check-config with FILE:LINE:COL and exit status 2,
// --version, --help, a port 0 listener reported on stdout, and a clean exit on SIGTERM.
#include "support/child_process.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_certs.h"
#include "support/test_config.h"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <sys/wait.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

// Issue 18: the full example (every listener kind, TLS with SNI, health probes, retries) is valid
// once its certificates exist; --check-config reads them. They are made here, never shipped.
TEST(OpsCli, CheckConfigAcceptsTheFullExampleOnceItsCertificatesExist) {
    const char* src = std::getenv("LACQUER_SOURCE_DIR");
    ASSERT_NE(src, nullptr);
    std::ifstream in(std::string(src) + "/vcl-like-config/examples/full.yaml");
    const std::string original((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    ASSERT_FALSE(original.empty());
    std::string yaml = original;
    TempDir dir;
    const TestCerts certs = make_test_certs(dir.path().string());
    const auto replace_all = [&yaml](const std::string& from, const std::string& to) {
        for (std::size_t at = yaml.find(from); at != std::string::npos;
             at = yaml.find(from, at + to.size())) {
            yaml.replace(at, from.size(), to);
        }
    };
    replace_all("/etc/lacquer/tls/server.pem", certs.localhost.certificate);
    replace_all("/etc/lacquer/tls/server.key", certs.localhost.private_key);
    replace_all("/etc/lacquer/tls/api.pem", certs.api.certificate);
    replace_all("/etc/lacquer/tls/api.key", certs.api.private_key);
    auto result = LacquerProcess::run_check_config(yaml);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    // Without them, the first certificate is named at its FILE:LINE:COL.
    auto missing = LacquerProcess::run_check_config(original);
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.stderr_text.find(":10:20: tls: cannot read certificate"), std::string::npos)
        << missing.stderr_text;
}

TEST(OpsCli, CheckConfigAcceptsTheShippedDefaultConfig) {
    const char* src = std::getenv("LACQUER_SOURCE_DIR");
    ASSERT_NE(src, nullptr);
    std::ifstream in(std::string(src) + "/vcl-like-config/lacquer.yaml");
    const std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(yaml.empty());
    auto result = LacquerProcess::run_check_config(yaml);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
}

TEST(OpsCli, CheckConfigReportsFileLineColumnAndExits2) {
    const std::string yaml = "listen:\n"
                             "  - address: 127.0.0.1:0\n"
                             "origins:\n"
                             "  api:\n"
                             "    servers:\n"
                             "      - address: 127.0.0.1:9000\n"
                             "    connect_timeout: soon\n";
    auto result = LacquerProcess::run_check_config(yaml);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.stderr_text.find(result.config_path + ":7:22:"), std::string::npos)
        << result.stderr_text;
}

TEST(OpsCli, UnknownKeyIsAnError) {
    auto result = LacquerProcess::run_check_config(
        "listen:\n  - address: 127.0.0.1:0\norigins:\n  api:\n    servers:\n"
        "      - address: 127.0.0.1:9000\nworkerz: 2\n");
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.stderr_text.find(result.config_path + ":7:1:"), std::string::npos)
        << result.stderr_text;
}

// Round 1 refused these keys ("not supported by this build"); round 2 runs them.
TEST(OpsCli, HealthProbesAndTlsToOriginsAreAcceptedNowThatTheyRun) {
    auto result = LacquerProcess::run_check_config(
        "listen:\n  - address: 127.0.0.1:0\norigins:\n  api:\n    servers:\n"
        "      - address: 127.0.0.1:9000\n    health: { path: /healthz }\n"
        "    tls: { verify: true, server_name: api.example.com }\n");
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_EQ(result.stderr_text.find("not supported"), std::string::npos) << result.stderr_text;
}

TEST(OpsCli, VersionAndHelp) {
    for (const char* flag : {"--version", "--help"}) {
        std::string error;
        TempDir dir;
        ChildProcess child;
        ASSERT_TRUE(
            child.start(LacquerProcess::binary_from_env(), {flag}, dir.path(), "cli", error))
            << error;
        auto status = child.wait_exit(5s);
        ASSERT_TRUE(status.has_value());
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << flag;
        EXPECT_NE(
            child.stdout_text().find(flag == std::string("--version") ? "lacquerd " : "usage:"),
            std::string::npos);
    }
}

TEST(OpsCli, SigtermEndsTheProcessWithStatusZero) {
    ScriptedOrigin origin;
    LacquerProcess proxy(TestConfig().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    auto status = proxy.wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(OpsCli, SigtermAnswersTheRequestsInFlightClosesIdleConnectionsThenExits) {
    Gate in_flight; // the /slow request stays at the origin until the drain has begun
    ScriptedOrigin origin;
    origin.on_get("/slow", [&](OriginExchange& x) {
        (void)in_flight.wait_for(5s);
        x.respond(200, {}, "finished");
    });
    origin.on_get("/fast", [](OriginExchange& x) { x.respond(200, {}, "fast"); });
    LacquerProcess proxy(
        TestConfig().origin(origin.address()).extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient idle; // a keep-alive connection between two requests
    ASSERT_TRUE(idle.connect(proxy.port()));
    ASSERT_EQ(idle.get("/fast").status, 200);
    HttpClient busy;
    ASSERT_TRUE(busy.connect(proxy.port()));
    ASSERT_TRUE(busy.send_raw(build_request("GET", "/slow")));
    ASSERT_TRUE(origin.wait_for_count("/slow", 1, 5s));

    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    EXPECT_TRUE(idle.is_closed_by_peer(2s)) << "idle connections close at once";
    in_flight.open();
    const Response r = busy.read_response(5s);
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.body, "finished"); // the request in flight is answered, then the connection ends
    EXPECT_TRUE(busy.is_closed_by_peer(2s));
    const auto status = proxy.wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    HttpClient late;
    EXPECT_FALSE(late.connect(proxy.port())); // nothing listens any more
}

TEST(OpsCli, SighupAndSigusr1DoNotKillTheProcess) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, "alive"); });
    LacquerProcess proxy(TestConfig().origin(origin.address()));
    ASSERT_TRUE(proxy.started());
    ASSERT_TRUE(proxy.send_signal(SIGHUP));
    ASSERT_TRUE(proxy.send_signal(SIGUSR1));
    EXPECT_EQ(proxy.get("/still").body, "alive");
}

} // namespace
} // namespace lacquer::test
