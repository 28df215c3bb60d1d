// TlsClientContext: TLS to origins (verification, SNI, mTLS, one resumable session per server).
#include "lacquer/net/tls_context.h"
#include "tls_transport.h"

#include <arpa/inet.h>
#include <cstdio>
#include <map>
#include <mutex>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace lacquer::net {

namespace {

std::string openssl_error(const std::string& what) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    return reason != nullptr ? what + ": " + reason : what;
}

bool is_ip_literal(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void free_key(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<std::string*>(ptr);
}

int key_index() {
    static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_key);
    return kIndex;
}

} // namespace

struct TlsClientContext::Impl {
    SSL_CTX* ctx = nullptr;
    std::mutex mutex;                             // guards sessions (any worker connects)
    std::map<std::string, SSL_SESSION*> sessions; // the last session of each server

    ~Impl() {
        for (auto& [key, session] : sessions) {
            SSL_SESSION_free(session);
        }
        SSL_CTX_free(ctx);
    }

    // OpenSSL hands over each new session (TLS 1.3: the tickets after the handshake).
    static int new_session_cb(SSL* ssl, SSL_SESSION* session) {
        auto* self = static_cast<Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
        const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, key_index()));
        if (self == nullptr || key == nullptr) {
            return 0;
        }
        std::lock_guard<std::mutex> lock(self->mutex);
        SSL_SESSION*& slot = self->sessions[*key];
        if (slot != nullptr) {
            SSL_SESSION_free(slot);
        }
        slot = session;
        return 1; // we keep the reference
    }
};

TlsClientContext::TlsClientContext(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientContext::~TlsClientContext() = default;

std::shared_ptr<TlsClientContext> TlsClientContext::create(const TlsClientOptions& options,
                                                           std::string& error) {
    auto impl = std::make_shared<Impl>();
    impl->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX* ctx = impl->ctx;
    if (ctx == nullptr) {
        error = openssl_error("cannot make a TLS context");
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, kHttp11, sizeof kHttp11);
    if (options.verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        const int loaded =
            options.ca_file.empty()
                ? SSL_CTX_set_default_verify_paths(ctx)
                : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
        if (loaded != 1) {
            error = openssl_error("cannot read CA file '" + options.ca_file + "'");
            return nullptr;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!options.certificate.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx, options.certificate.c_str()) != 1) {
            error = openssl_error("cannot read certificate '" + options.certificate + "'");
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, options.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
            error = openssl_error("cannot read private key '" + options.private_key + "'");
            return nullptr;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            error = openssl_error("private key '" + options.private_key +
                                  "' does not match certificate '" + options.certificate + "'");
            return nullptr;
        }
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &Impl::new_session_cb);
    SSL_CTX_set_app_data(ctx, impl.get());
    return std::shared_ptr<TlsClientContext>(new TlsClientContext(std::move(impl)));
}

std::unique_ptr<Transport> TlsClientContext::connect(int fd, const std::string& server_name,
                                                     const std::string& session_key) const {
    SSL* ssl = SSL_new(impl_->ctx);
    if (ssl == nullptr) {
        ERR_clear_error();
        return nullptr;
    }
    SSL_set_connect_state(ssl);
    SSL_set_ex_data(ssl, key_index(), new std::string(session_key));
    if (!server_name.empty()) {
        if (is_ip_literal(server_name)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
        } else {
            // SSL_set_tlsext_host_name, without its C cast.
            SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(server_name.c_str()));
            SSL_set1_host(ssl, server_name.c_str());
        }
    }
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        const auto found = impl_->sessions.find(session_key);
        if (found != impl_->sessions.end()) {
            SSL_set_session(ssl, found->second);
        }
    }
    return std::make_unique<TlsTransport>(ssl, fd, nullptr, nullptr, impl_);
}

} // namespace lacquer::net
