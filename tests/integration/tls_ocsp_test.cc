// OCSP stapling from a configured file (issue 18) against a real lacquerd: the test CA answers
// for a certificate with `openssl ocsp -index ... -rsigner ... -respout` at run time (nothing
// committed), and `openssl s_client -status` sees the response stapled when it asks; a
// certificate without `ocsp:` staples nothing; a file that is not an OCSP response, one for
// another certificate, or one that is missing is a config error at its `ocsp:` key, and a
// reload to such a file is refused while the running config keeps stapling.
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_certs.h"
#include "support/tls_client.h"

#include <chrono>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class TlsOcspTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        shared = std::make_unique<SuiteCerts>("lacquer-tls-ocsp");
        localhost_ocsp = ocsp_response(shared->certs.localhost, "localhost");
        api_ocsp = ocsp_response(shared->certs.api, "api");
    }
    static void TearDownTestSuite() { shared.reset(); }
    void SetUp() override {
        origin_.on_any([](OriginExchange& ex) {
            ex.respond(200, {{"Cache-Control", "max-age=60"}}, "hello " + ex.request().target);
        });
    }

    // A "good" response from the test CA for `cert`, as an OCSP responder would sign it.
    static std::string ocsp_response(const CertPair& cert, const std::string& stem) {
        const std::string dir = shared->certs.dir;
        const std::string index = dir + "/" + stem + ".index";
        std::string out = dir + "/" + stem + ".ocsp.der";
        // run_command wraps the script in single quotes: none inside.
        const std::string script =
            "set -e; serial=$(openssl x509 -in " + cert.certificate +
            " -noout -serial | cut -d= -f2); printf \"V\\t%s\\t\\t%s\\tunknown\\t/CN=" + stem +
            "\\n\" \"$(date -u -d +2days +%y%m%d%H%M%SZ)\" \"$serial\" > " + index +
            "; openssl ocsp -index " + index + " -CA " + shared->certs.ca + " -rsigner " +
            shared->certs.ca + " -rkey " + dir + "/ca.key -issuer " + shared->certs.ca + " -cert " +
            cert.certificate + " -ndays 1 -respout " + out + " >/dev/null";
        const CommandResult made = run_command(script);
        EXPECT_EQ(made.exit_code, 0) << made.output;
        return out;
    }

    // A TLS listener whose default certificate (localhost) staples `ocsp`; line 11 column 13
    // of the file is that path. api.example.com (SNI) has none.
    std::string yaml(const std::string& ocsp) const {
        return "workers: 1\nlisten:\n  - address: 127.0.0.1:0\n    tls:\n      certificate: " +
               shared->certs.localhost.certificate +
               "\n      private_key: " + shared->certs.localhost.private_key +
               "\n      sni:\n        - names: [api.example.com]\n" +
               "          certificate: " + shared->certs.api.certificate +
               "\n          private_key: " + shared->certs.api.private_key +
               "\n      ocsp: " + ocsp +
               "\nadmin: { address: 127.0.0.1:0 }\nlog: { access: off }\n" +
               "origins:\n  api:\n    servers:\n      - address: " + origin_.address() + "\n";
    }
    static std::string s_client(std::uint16_t port, const std::string& flags) {
        return run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                               " -CAfile " + shared->certs.ca + " " + flags,
                           "")
            .output;
    }

    static std::unique_ptr<SuiteCerts> shared;
    static std::string localhost_ocsp;
    static std::string api_ocsp;
    ScriptedOrigin origin_;
};

std::unique_ptr<SuiteCerts> TlsOcspTest::shared;
std::string TlsOcspTest::localhost_ocsp;
std::string TlsOcspTest::api_ocsp;

TEST_F(TlsOcspTest, TheResponseIsStapledWhenTheClientAsksForIt) {
    LacquerProcess lacquer(yaml(localhost_ocsp));
    ASSERT_TRUE(lacquer.started());
    for (const char* version : {"-tls1_3", "-tls1_2"}) {
        const std::string out =
            s_client(lacquer.port(), "-status -servername localhost " + std::string(version));
        EXPECT_THAT(out, HasSubstr("OCSP Response Status: successful")) << version << "\n" << out;
        EXPECT_THAT(out, HasSubstr("Cert Status: good")) << version;
        EXPECT_THAT(out, HasSubstr("Verify return code: 0 (ok)")) << version;
    }
    // Not asked: nothing sent. Another certificate (SNI) without `ocsp:`: nothing stapled.
    EXPECT_THAT(s_client(lacquer.port(), "-servername localhost"), Not(HasSubstr("OCSP")));
    EXPECT_THAT(s_client(lacquer.port(), "-status -servername api.example.com"),
                HasSubstr("OCSP response: no response sent"));
}

TEST_F(TlsOcspTest, AFileThatIsNotAResponseForTheCertificateIsAConfigErrorAndARefusedReload) {
    const std::string garbage = shared->certs.dir + "/garbage.der";
    std::ofstream(garbage) << "not der";
    const std::pair<std::string, std::string> cases[] = {
        {api_ocsp, "is not for this certificate"},
        {garbage, "is not an OCSP response"},
        {shared->certs.dir + "/missing.der", "cannot read OCSP response"},
        {shared->certs.localhost.certificate, "is not an OCSP response"}, // PEM, not DER
    };
    for (const auto& [file, why] : cases) {
        const auto check = LacquerProcess::run_check_config(yaml(file));
        EXPECT_EQ(check.exit_code, 2) << check.stderr_text;
        EXPECT_THAT(check.stderr_text, HasSubstr(check.config_path + ":11:13: tls: "))
            << check.stderr_text;
        EXPECT_THAT(check.stderr_text, HasSubstr(why)) << check.stderr_text;
    }
    EXPECT_EQ(LacquerProcess::run_check_config(yaml(localhost_ocsp)).exit_code, 0);

    LacquerProcess lacquer(yaml(localhost_ocsp));
    ASSERT_TRUE(lacquer.started());
    lacquer.rewrite_config(yaml(api_ocsp));
    ASSERT_TRUE(lacquer.send_signal(SIGHUP));
    ASSERT_TRUE(lacquer.wait_for_stderr("reload refused", 10s)) << lacquer.stderr_text();
    EXPECT_THAT(lacquer.stderr_text(), HasSubstr(":11:13: tls: OCSP response"));
    EXPECT_THAT(s_client(lacquer.port(), "-status -servername localhost"),
                HasSubstr("Cert Status: good"));
}

} // namespace
} // namespace lacquer::test
