#pragma once
// Blocking helpers for the TLS tests: a TLS client connection (OpenSSL, verifying against a CA
// file) that sends requests and reads answers on one connection, and a shell command runner
// for `openssl s_client` and `curl` (bounded by timeout(1)).

#include "support/deadline.h"

#include <memory>
#include <string>

namespace lacquer::test {

class TlsClient {
public:
    // Connects to 127.0.0.1:`port` with SNI `server_name` ("" = none), verifying against
    // `ca_file` and the name; `preamble` (a PROXY header) is sent before the handshake.
    // connected() says whether the handshake went through.
    TlsClient(std::uint16_t port, const std::string& server_name, const std::string& ca_file,
              const std::string& preamble = "");
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    bool connected() const { return connected_; }
    std::string error() const { return error_; }
    // The subject CN of the certificate the server sent.
    std::string peer_common_name() const;
    // Sends a GET of `target` (keep-alive) and returns the answer's status line and body
    // (Content-Length framing), or "" on failure.
    std::string get(const std::string& target, const std::string& host = "localhost");

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    bool connected_ = false;
    std::string error_;
};

struct CommandResult {
    int exit_code = -1;
    std::string output; // stdout and stderr
};
// Runs `command` with sh -c under `timeout` seconds, feeding `input` on stdin.
CommandResult run_command(const std::string& command, const std::string& input = "",
                          int timeout_seconds = 10);

} // namespace lacquer::test
