#include "support/tls_client.h"

#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <fstream>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lacquer::test {

struct TlsClient::Impl {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    int fd = -1;
    ~Impl() {
        if (ssl != nullptr) {
            SSL_free(ssl);
        }
        if (ctx != nullptr) {
            SSL_CTX_free(ctx);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
};

TlsClient::TlsClient(std::uint16_t port, const std::string& server_name, const std::string& ca_file,
                     const std::string& preamble)
    : impl_(std::make_unique<Impl>()) {
    impl_->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(impl_->ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_load_verify_locations(impl_->ctx, ca_file.c_str(), nullptr);
    impl_->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval five{5, 0};
    setsockopt(impl_->fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    setsockopt(impl_->fd, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(impl_->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error_ = "connect failed";
        return;
    }
    if (!preamble.empty() && ::send(impl_->fd, preamble.data(), preamble.size(), MSG_NOSIGNAL) !=
                                 static_cast<ssize_t>(preamble.size())) {
        error_ = "sending the preamble failed";
        return;
    }
    impl_->ssl = SSL_new(impl_->ctx);
    SSL_set_fd(impl_->ssl, impl_->fd);
    if (!server_name.empty()) {
        SSL_ctrl(impl_->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(server_name.c_str()));
        SSL_set1_host(impl_->ssl, server_name.c_str());
    }
    if (SSL_connect(impl_->ssl) != 1) {
        std::array<char, 256> text{};
        ERR_error_string_n(ERR_get_error(), text.data(), text.size());
        error_ = text.data();
        return;
    }
    connected_ = true;
}

TlsClient::~TlsClient() = default;

std::string TlsClient::peer_common_name() const {
    if (!connected_) {
        return {};
    }
    X509* cert = SSL_get1_peer_certificate(impl_->ssl);
    if (cert == nullptr) {
        return {};
    }
    std::array<char, 256> cn{};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn.data(),
                              static_cast<int>(cn.size()));
    X509_free(cert);
    return cn.data();
}

std::string TlsClient::get(const std::string& target, const std::string& host) {
    if (!connected_) {
        return {};
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    if (SSL_write(impl_->ssl, request.data(), static_cast<int>(request.size())) <= 0) {
        return {};
    }
    std::string got;
    std::array<char, 16384> buffer{};
    for (;;) {
        const std::size_t end = got.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::size_t length = 0;
            const std::size_t at = got.find("Content-Length: ");
            if (at != std::string::npos && at < end) {
                length = std::stoul(got.substr(at + 16));
            }
            if (got.size() >= end + 4 + length) {
                return got.substr(0, got.find("\r\n")) + "\n" + got.substr(end + 4, length);
            }
        }
        const int n = SSL_read(impl_->ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) {
            return {};
        }
        got.append(buffer.data(), static_cast<std::size_t>(n));
    }
}

CommandResult run_command(const std::string& command, const std::string& input,
                          int timeout_seconds) {
    char input_path[] = "/tmp/lacquer-cmd-input-XXXXXX";
    const int fd = mkstemp(input_path);
    if (fd < 0) {
        return {};
    }
    close(fd);
    std::ofstream(input_path) << input;
    const std::string full = "timeout " + std::to_string(timeout_seconds) + " sh -c '" + command +
                             "' < " + input_path + " 2>&1";
    CommandResult result;
    FILE* pipe = popen(full.c_str(), "r");
    if (pipe != nullptr) {
        std::array<char, 4096> buffer{};
        std::size_t n = 0;
        while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
            result.output.append(buffer.data(), n);
        }
        const int status = pclose(pipe);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    unlink(input_path);
    return result;
}

} // namespace lacquer::test
