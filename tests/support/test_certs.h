#pragma once
// Certificates made at run time for the TLS tests (never committed): a test CA (ECDSA P-256),
// server certificates it signs, a client certificate for mTLS, and a self-signed one. Made with
// the `openssl` command line in a directory the caller owns (a temp dir).

#include "support/child_process.h"

#include <string>
#include <string_view>

namespace lacquer::test {

struct CertPair {
    std::string certificate; // PEM path
    std::string private_key; // PEM path
};

struct TestCerts {
    std::string dir;
    std::string ca;       // the CA certificate (PEM path)
    CertPair localhost;   // CN localhost; SAN DNS:localhost, IP:127.0.0.1
    CertPair api;         // SAN DNS:api.example.com, DNS:*.api.example.com
    CertPair client;      // CN lacquer-client, for mTLS (clientAuth)
    CertPair self_signed; // CN localhost, SAN DNS:localhost, IP:127.0.0.1, not from the CA
};

// Makes every certificate under `dir` (created if missing); throws std::runtime_error when the
// openssl command fails.
TestCerts make_test_certs(const std::string& dir);

// Makes one more server certificate signed by the CA of `certs`, for `names` (SAN DNS entries,
// comma separated), as `<dir>/<stem>.pem` and `.key`.
// A test suite's certificates in a temp dir of their own: made once in SetUpTestSuite, gone
// (the keys with the directory) when the suite resets it in TearDownTestSuite.
struct SuiteCerts {
    explicit SuiteCerts(std::string_view prefix)
        : dir(prefix), certs(make_test_certs(dir.path().string())) {}
    TempDir dir;
    TestCerts certs;
};

CertPair make_server_cert(const TestCerts& certs, const std::string& stem,
                          const std::string& names);

} // namespace lacquer::test
