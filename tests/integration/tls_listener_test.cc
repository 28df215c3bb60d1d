// TLS on a client listener against a real lacquerd (issue 18), with certificates made at run
// time: TLS 1.0 and 1.1 refused, 1.2 and 1.3 served (openssl s_client, curl --cacert), SNI
// picks the certificate (exact and *.suffix), ALPN http/1.1, resumption (tickets and the
// session cache), a reload that swaps a certificate for new handshakes while an open
// connection keeps working, a slow handshake closed at client_header_timeout, garbage bytes,
// the access log's TLS fields, the metrics, and certificate files that cannot be used (a
// config error with FILE:LINE:COL; a reload that is refused leaves the running one).
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"
#include "support/test_certs.h"
#include "support/tls_client.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

UniqueFd connect_loopback(std::uint16_t port) {
    std::string error;
    return connect_tcp("127.0.0.1", port, 5s, error);
}

class TlsListenerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { shared = std::make_unique<SuiteCerts>("lacquer-tls-certs"); }
    static void TearDownTestSuite() { shared.reset(); }
    void SetUp() override {
        origin_.on_any([](OriginExchange& ex) {
            ex.respond(200, {{"Cache-Control", "max-age=60"}, {"Content-Type", "text/plain"}},
                       "hello " + ex.request().target);
        });
    }

    std::string yaml(const CertPair& main, std::string_view extra = {},
                     std::string_view limits = {}) const {
        return "workers: 2\nlisten:\n  - address: 127.0.0.1:0\n    tls:\n      certificate: " +
               main.certificate + "\n      private_key: " + main.private_key +
               "\n      sni:\n        - names: [api.example.com, \"*.api.example.com\"]\n" +
               "          certificate: " + shared->certs.api.certificate +
               "\n          private_key: " + shared->certs.api.private_key + "\n" +
               std::string(extra) + "admin: { address: 127.0.0.1:0 }\nlog: { access: stdout }\n" +
               std::string(limits) +
               "origins:\n  api:\n    servers:\n      - address: " + origin_.address() + "\n";
    }
    std::string s_client(std::uint16_t port, const std::string& flags) const {
        return run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                               " -CAfile " + shared->certs.ca + " " + flags,
                           "")
            .output;
    }

    static std::unique_ptr<SuiteCerts> shared;
    ScriptedOrigin origin_;
};

std::unique_ptr<SuiteCerts> TlsListenerTest::shared;

TEST_F(TlsListenerTest, Tls10And11AreRefusedAnd12And13AreServed) {
    LacquerProcess lacquer(yaml(shared->certs.localhost));
    ASSERT_TRUE(lacquer.started());
    for (const char* old : {"-tls1", "-tls1_1"}) {
        const std::string out = s_client(lacquer.port(), old);
        EXPECT_THAT(out, HasSubstr("alert protocol version")) << old << "\n" << out;
    }
    for (const char* version : {"tls1_2", "tls1_3"}) {
        const CommandResult curl = run_command(
            "curl -sS --" +
            std::string(version == std::string("tls1_2") ? "tlsv1.2 --tls-max 1.2" : "tlsv1.3") +
            " --cacert " + shared->certs.ca +
            " https://localhost:" + std::to_string(lacquer.port()) + "/v3/" + version);
        EXPECT_EQ(curl.exit_code, 0) << curl.output;
        EXPECT_EQ(curl.output, "hello /v3/" + std::string(version));
    }
    ASSERT_TRUE(lacquer.wait_for_stdout("tls=TLSv1.2 sni=localhost", 5s)) << lacquer.stdout_text();
    ASSERT_TRUE(lacquer.wait_for_stdout("tls=TLSv1.3 sni=localhost", 5s)) << lacquer.stdout_text();
    EXPECT_TRUE(lacquer.wait_for_metric("lacquer_tls_handshakes_total", 1, 5s,
                                        "result=\"ok\",version=\"TLSv1.3\""));
    EXPECT_TRUE(
        lacquer.wait_for_metric("lacquer_tls_handshakes_total", 2, 5s, "result=\"failed\""));
    // The handshake histogram saw both served handshakes, each well inside the 10s bucket.
    EXPECT_TRUE(
        lacquer.wait_for_metric("lacquer_tls_handshake_seconds_count", 2, 5s, "result=\"ok\""));
    for (const char* version : {"TLSv1.2", "TLSv1.3"}) {
        EXPECT_TRUE(lacquer.wait_for_metric("lacquer_tls_handshake_seconds_bucket", 1, 5s,
                                            "result=\"ok\",version=\"" + std::string(version) +
                                                "\",le=\"10\""))
            << version;
    }
}

TEST_F(TlsListenerTest, SniPicksTheCertificateAlpnIsAnsweredRenegotiationRefused) {
    LacquerProcess lacquer(yaml(shared->certs.localhost));
    ASSERT_TRUE(lacquer.started());
    const std::pair<const char*, const char*> cases[] = {
        {"localhost", "localhost"},
        {"api.example.com", "api.example.com"},
        {"eu.api.example.com", "api.example.com"}, // *.api.example.com
        {"other.example.org", "localhost"},        // unknown: the default one
    };
    for (const auto& [name, cn] : cases) {
        const std::string out = s_client(lacquer.port(), "-servername " + std::string(name));
        EXPECT_THAT(out, HasSubstr("subject=CN = " + std::string(cn))) << name << "\n" << out;
    }
    TlsClient client(lacquer.port(), "eu.api.example.com", shared->certs.ca);
    ASSERT_TRUE(client.connected()) << client.error(); // the name verifies too
    EXPECT_EQ(client.get("/v3/sni"), "HTTP/1.1 200 OK\nhello /v3/sni");
    EXPECT_THAT(s_client(lacquer.port(), "-alpn h2,http/1.1"),
                HasSubstr("ALPN protocol: http/1.1"));
    // A TLS 1.2 client asking to renegotiate (s_client's "R") is refused.
    const CommandResult renegotiate =
        run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(lacquer.port()) +
                        " -tls1_2 -CAfile " + shared->certs.ca,
                    "R\n");
    EXPECT_THAT(renegotiate.output, HasSubstr("RENEGOTIATING"));
    EXPECT_THAT(renegotiate.output, HasSubstr("no renegotiation")) << renegotiate.output;
}

TEST_F(TlsListenerTest, SessionsResumeWithTicketsAndWithTheCache) {
    LacquerProcess lacquer(yaml(shared->certs.localhost));
    ASSERT_TRUE(lacquer.started());
    const std::string sess = (shared->dir.path() / "session.pem").string();
    const std::string port = std::to_string(lacquer.port());
    for (const std::string flags : {"-tls1_3", "-tls1_2", "-tls1_2 -no_ticket"}) { // NOLINT
        // The first connection reads an answer, so that TLS 1.3 tickets have arrived.
        const CommandResult first = run_command(
            "openssl s_client -quiet -connect 127.0.0.1:" + port + " -CAfile " + shared->certs.ca +
                " -servername localhost " + flags + " -sess_out " + sess,
            "GET /v3/first HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        EXPECT_THAT(first.output, HasSubstr("hello /v3/first")) << flags << first.output;
        const std::string second =
            s_client(lacquer.port(), "-servername localhost " + flags + " -sess_in " + sess);
        EXPECT_THAT(second, HasSubstr("Reused, TLSv1.")) << flags << "\n" << second;
    }
    EXPECT_TRUE(lacquer.wait_for_metric("lacquer_tls_resumptions_total", 3, 5s));
}

TEST_F(TlsListenerTest, AReloadSwapsTheCertificateForNewHandshakesOnly) {
    LacquerProcess lacquer(yaml(shared->certs.localhost));
    ASSERT_TRUE(lacquer.started());
    TlsClient open(lacquer.port(), "localhost", shared->certs.ca);
    ASSERT_TRUE(open.connected()) << open.error();
    EXPECT_EQ(open.get("/v3/before"), "HTTP/1.1 200 OK\nhello /v3/before");
    const std::string serial_before = s_client(lacquer.port(), "-servername localhost");
    const CertPair renewed = make_server_cert(shared->certs, "renewed", "localhost,127.0.0.1");
    lacquer.rewrite_config(yaml(renewed));
    ASSERT_TRUE(lacquer.send_signal(SIGHUP));
    ASSERT_TRUE(lacquer.wait_for_stderr("reloaded", 10s)) << lacquer.stderr_text();
    // New handshakes see the new certificate...
    const CommandResult fingerprint = run_command(
        "openssl s_client -connect 127.0.0.1:" + std::to_string(lacquer.port()) +
        " -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint");
    const CommandResult expected =
        run_command("openssl x509 -noout -fingerprint -in " + renewed.certificate);
    EXPECT_EQ(fingerprint.output, expected.output);
    // ...and the connection opened before the reload keeps working.
    EXPECT_EQ(open.get("/v3/after"), "HTTP/1.1 200 OK\nhello /v3/after");
}

TEST_F(TlsListenerTest, ACertificateThatCannotBeUsedIsAConfigErrorAndARefusedReload) {
    CertPair mismatched{shared->certs.localhost.certificate, shared->certs.api.private_key};
    const auto check = LacquerProcess::run_check_config(yaml(mismatched));
    EXPECT_EQ(check.exit_code, 2) << check.stderr_text;
    EXPECT_THAT(check.stderr_text, HasSubstr(check.config_path + ":5:20: tls: private key"))
        << check.stderr_text;
    EXPECT_THAT(check.stderr_text, HasSubstr("does not match"));
    CertPair missing{shared->dir.path().string() + "/missing.pem",
                     shared->certs.localhost.private_key};
    const auto unreadable = LacquerProcess::run_check_config(yaml(missing));
    EXPECT_EQ(unreadable.exit_code, 2);
    EXPECT_THAT(unreadable.stderr_text, HasSubstr("cannot read certificate"));

    LacquerProcess lacquer(yaml(shared->certs.localhost));
    ASSERT_TRUE(lacquer.started());
    lacquer.rewrite_config(yaml(mismatched));
    ASSERT_TRUE(lacquer.send_signal(SIGHUP));
    ASSERT_TRUE(lacquer.wait_for_stderr("reload refused", 10s)) << lacquer.stderr_text();
    EXPECT_THAT(lacquer.stderr_text(), HasSubstr(":5:20: tls: private key"));
    TlsClient client(lacquer.port(), "localhost", shared->certs.ca);
    ASSERT_TRUE(client.connected()) << client.error();
    EXPECT_EQ(client.get("/v3/still"), "HTTP/1.1 200 OK\nhello /v3/still");
}

TEST_F(TlsListenerTest, ASlowHandshakeIsClosedAtTheHeaderDeadlineAndGarbageIsDropped) {
    LacquerProcess lacquer(
        yaml(shared->certs.localhost, {}, "limits: { client_header_timeout: 1s }\n"));
    ASSERT_TRUE(lacquer.started());
    // Half a ClientHello, then silence.
    UniqueFd slow = connect_loopback(lacquer.port());
    ASSERT_TRUE(slow.valid());
    const std::string half("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    ASSERT_EQ(::send(slow.get(), half.data(), half.size(), MSG_NOSIGNAL), 11);
    const auto start = std::chrono::steady_clock::now();
    char byte = 0;
    timeval ten{10, 0};
    setsockopt(slow.get(), SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
    EXPECT_LE(::recv(slow.get(), &byte, 1, 0), 0); // closed, with nothing sent
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 800ms);
    EXPECT_LE(took, 5s);
    // It counts as a failed handshake that lasted until the deadline.
    EXPECT_TRUE(
        lacquer.wait_for_metric("lacquer_tls_handshake_seconds_sum", 0.8, 5s, "result=\"failed\""));
    // A plain HTTP request on the TLS port: not a handshake, closed; the server goes on.
    UniqueFd plain = connect_loopback(lacquer.port());
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(plain.get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    setsockopt(plain.get(), SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
    char answer[64];
    const ssize_t n = ::recv(plain.get(), answer, sizeof answer, 0);
    EXPECT_THAT(std::string(answer, n > 0 ? static_cast<std::size_t>(n) : 0),
                Not(HasSubstr("HTTP/1.1")));
    TlsClient client(lacquer.port(), "localhost", shared->certs.ca);
    ASSERT_TRUE(client.connected()) << client.error();
    EXPECT_EQ(client.get("/v3/fine"), "HTTP/1.1 200 OK\nhello /v3/fine");
}

TEST_F(TlsListenerTest, APROXYHeaderComesBeforeTheHandshake) {
    LacquerProcess lacquer(yaml(shared->certs.localhost,
                                "    proxy_protocol: true\n    proxy_from: [127.0.0.1/32]\n"));
    ASSERT_TRUE(lacquer.started());
    TlsClient client(lacquer.port(), "localhost", shared->certs.ca,
                     "PROXY TCP4 203.0.113.9 127.0.0.1 5555 443\r\n");
    ASSERT_TRUE(client.connected()) << client.error();
    EXPECT_EQ(client.get("/v3/proxied"), "HTTP/1.1 200 OK\nhello /v3/proxied");
    ASSERT_TRUE(lacquer.wait_for_stdout("203.0.113.9 - - [", 5s)) << lacquer.stdout_text();
    EXPECT_THAT(lacquer.stdout_text(), HasSubstr("tls=TLSv1.3 sni=localhost"));
    TlsClient without(lacquer.port(), "localhost", shared->certs.ca); // no header: refused
    EXPECT_FALSE(without.connected());
}

} // namespace
} // namespace lacquer::test
