// TLS to origins against real processes (issue 18 item 2): the origin is a second lacquerd with
// a TLS listener in front of a scripted origin, or `openssl s_server` requiring a client
// certificate. Verification is on by default: a self-signed certificate is a 502, its reason on
// stderr and lacquer_origin_errors_total{kind="tls"}; with ca_file it works, by IP or by
// server_name, over kept-alive connections; mTLS with the pool's certificate.
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"
#include "support/test_certs.h"
#include "support/tls_client.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TlsOriginTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        shared = std::make_unique<SuiteCerts>("lacquer-tls-origin-certs");
    }
    static void TearDownTestSuite() { shared.reset(); }
    void SetUp() override {
        origin_.on_any([](OriginExchange& ex) {
            ex.respond(200, {{"Content-Type", "text/plain"}}, "hello " + ex.request().target);
        });
    }
    // The TLS origin: lacquerd terminating TLS with `cert` in front of origin_.
    std::string inner_yaml(const CertPair& cert) const {
        return "workers: 1\nlisten:\n  - address: 127.0.0.1:0\n    tls:\n      certificate: " +
               cert.certificate + "\n      private_key: " + cert.private_key +
               "\nadmin: { address: 127.0.0.1:0 }\nlog: { access: off }\n"
               "origins:\n  api:\n    servers:\n      - address: " +
               origin_.address() + "\ndefault_route: { pass: true }\n";
    }
    // The lacquerd under test, fetching from 127.0.0.1:`port` with `tls`.
    static std::string outer_yaml(std::uint16_t port, std::string_view tls) {
        return "workers: 1\nlisten:\n  - address: 127.0.0.1:0\nadmin: { address: 127.0.0.1:0 }\n"
               "log: { access: stdout }\norigins:\n  api:\n    servers:\n      - address: "
               "127.0.0.1:" +
               std::to_string(port) + "\n    tls: " + std::string(tls) +
               "\ndefault_route: { pass: true }\n";
    }

    static std::unique_ptr<SuiteCerts> shared;
    ScriptedOrigin origin_;
};

std::unique_ptr<SuiteCerts> TlsOriginTest::shared;

TEST_F(TlsOriginTest, ASelfSignedOriginFailsVerificationWithA502AndItsReason) {
    LacquerProcess inner(inner_yaml(shared->certs.self_signed));
    ASSERT_TRUE(inner.started());
    LacquerProcess outer(outer_yaml(inner.port(), "true"));
    ASSERT_TRUE(outer.started());
    const Response r = outer.get("/v3/x");
    EXPECT_EQ(r.status, 502) << r.summary();
    ASSERT_TRUE(outer.wait_for_stderr("TLS handshake failed: certificate verify failed", 5s))
        << outer.stderr_text();
    EXPECT_TRUE(outer.wait_for_metric("lacquer_origin_errors_total", 1, 5s, "kind=\"tls\""));
    EXPECT_EQ(origin_.total_requests(), 0u);
}

TEST_F(TlsOriginTest, TheCaFileMakesItWorkOverKeptAliveConnections) {
    LacquerProcess inner(inner_yaml(shared->certs.localhost));
    ASSERT_TRUE(inner.started());
    for (const std::string& tls :
         {"{ ca_file: " + shared->certs.ca + " }",
          "{ ca_file: " + shared->certs.ca + ", server_name: localhost }"}) {
        LacquerProcess outer(outer_yaml(inner.port(), tls));
        ASSERT_TRUE(outer.started());
        for (int i = 0; i < 5; ++i) {
            const Response r = outer.get("/v3/k" + std::to_string(i));
            EXPECT_EQ(r.status, 200) << tls << " " << r.summary();
            EXPECT_EQ(r.body, "hello /v3/k" + std::to_string(i));
        }
    }
    // Two lacquerd under test, five requests each, one TLS connection each (keep-alive).
    EXPECT_EQ(scrape_metric(inner.admin_port(), "lacquer_tls_handshakes_total",
                            "result=\"ok\",version=\"TLSv1.3\"")
                  .value_or(-1),
              2);
}

// Active probes speak the pool's TLS: with the CA they succeed (the server stays up); against a
// certificate that does not verify, they fail like a fetch would and take the server out.
TEST_F(TlsOriginTest, HealthProbesUseThePoolsTls) {
    LacquerProcess good(inner_yaml(shared->certs.localhost));
    ASSERT_TRUE(good.started());
    const std::string probe =
        "\n    health: { path: /healthz, interval: 100ms, timeout: 90ms, unhealthy_after: 2 }";
    LacquerProcess outer(outer_yaml(good.port(), "{ ca_file: " + shared->certs.ca + " }" + probe));
    ASSERT_TRUE(outer.started());
    EXPECT_TRUE(outer.wait_for_metric("lacquer_origin_probes_total", 3, 5s, "result=\"success\""));
    EXPECT_EQ(scrape_metric(outer.admin_port(), "lacquer_origin_probes_total", "result=\"failure\"")
                  .value_or(-1),
              0);
    EXPECT_GE(origin_.total_requests(), 3u); // the probes reached the origin behind TLS

    LacquerProcess bad(inner_yaml(shared->certs.self_signed));
    ASSERT_TRUE(bad.started());
    LacquerProcess refused(outer_yaml(bad.port(), "true" + probe));
    ASSERT_TRUE(refused.started());
    EXPECT_TRUE(
        refused.wait_for_metric("lacquer_origin_probes_total", 2, 5s, "result=\"failure\""));
    ASSERT_TRUE(refused.wait_for_stderr("is probed_down (probe: no answer)", 5s))
        << refused.stderr_text();
}

TEST_F(TlsOriginTest, AnOriginThatRequiresAClientCertificateGetsThePools) {
    std::uint16_t port = 0;
    std::string error;
    { // a free port for s_server (which cannot report one it picked)
        UniqueFd probe = listen_loopback(port, error);
        ASSERT_TRUE(probe.valid()) << error;
    }
    ChildProcess server;
    ASSERT_TRUE(server.start("/usr/bin/openssl",
                             {"s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-www",
                              "-cert", shared->certs.localhost.certificate, "-key",
                              shared->certs.localhost.private_key, "-Verify", "1", "-CAfile",
                              shared->certs.ca, "-verify_return_error"},
                             shared->dir.path(), "s_server", error))
        << error;
    ASSERT_TRUE(server.wait_for_stdout(
        [](std::string_view out) { return out.find("ACCEPT") != std::string_view::npos; }, 10s));
    {
        LacquerProcess without(outer_yaml(port, "{ ca_file: " + shared->certs.ca + " }"));
        ASSERT_TRUE(without.started());
        EXPECT_EQ(without.get("/").status, 502);
        EXPECT_TRUE(without.wait_for_metric("lacquer_origin_errors_total", 1, 5s, "kind=\"tls\""));
    }
    LacquerProcess with(outer_yaml(port, "{ ca_file: " + shared->certs.ca +
                                             ", certificate: " + shared->certs.client.certificate +
                                             ", private_key: " + shared->certs.client.private_key +
                                             " }"));
    ASSERT_TRUE(with.started());
    const Response r = with.get("/");
    EXPECT_EQ(r.status, 200) << r.summary();
    EXPECT_THAT(r.body, HasSubstr("lacquer-client")) << r.body; // s_server shows the client cert
}

} // namespace
} // namespace lacquer::test
