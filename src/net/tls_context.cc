// TlsServerContext: the certificates of one TLS listener and how its handshakes go.
#include "lacquer/net/tls_context.h"

#include "tls_ocsp.h"
#include "tls_tickets.h"
#include "tls_transport.h"

#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace lacquer::net {

namespace {

constexpr unsigned char kSessionContext[] = "lacquer";
constexpr long kSessionCacheSize = 20480;
constexpr long kSessionTimeoutSeconds = 3600;

std::string openssl_error(const std::string& what) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return what;
    }
    const char* reason = ERR_reason_error_string(code);
    return what + ": " + (reason != nullptr ? reason : "unknown OpenSSL error");
}

// `name` is exact or "*.suffix" (any name ending in ".suffix").
bool name_matches(const std::string& pattern, std::string_view name) {
    if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
        const std::string_view suffix = std::string_view(pattern).substr(1);
        return name.size() > suffix.size() && strncasecmp(name.data() + name.size() - suffix.size(),
                                                          suffix.data(), suffix.size()) == 0;
    }
    return name.size() == pattern.size() &&
           strncasecmp(name.data(), pattern.data(), name.size()) == 0;
}

int alpn_cb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK; // no http/1.1 offered: go on without ALPN, as nginx does
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

struct TlsServerContext::Impl {
    struct Named {
        std::vector<std::string> names;
        SSL_CTX* ctx = nullptr;
    };
    SSL_CTX* main = nullptr; // the default certificate; every handshake starts here
    std::vector<Named> named;
    const TlsStats* stats = nullptr;
    std::vector<std::unique_ptr<std::string>> ocsp; // the stapled responses (the callbacks' args)

    ~Impl() {
        for (Named& n : named) {
            SSL_CTX_free(n.ctx);
        }
        SSL_CTX_free(main);
    }

    static int servername_cb(SSL* ssl, int*, void* arg) {
        const auto* self = static_cast<const Impl*>(arg);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        if (name == nullptr) {
            return SSL_TLSEXT_ERR_OK; // no SNI: the default certificate
        }
        const std::string_view wanted(name);
        // Exact names first, then the wildcards, each in config order.
        for (const bool wildcard : {false, true}) {
            for (const Named& n : self->named) {
                for (const std::string& pattern : n.names) {
                    const bool is_wildcard = pattern.rfind("*.", 0) == 0;
                    if (is_wildcard == wildcard && name_matches(pattern, wanted)) {
                        SSL_set_SSL_CTX(ssl, n.ctx);
                        return SSL_TLSEXT_ERR_OK;
                    }
                }
            }
        }
        return SSL_TLSEXT_ERR_OK;
    }
};

namespace {

// One SSL_CTX with one certificate chain and key; nullptr and `error` when they do not load
// or do not match.
SSL_CTX* make_server_ctx(const TlsCertificateFiles& files, const TlsServerOptions& options,
                         std::string& error) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) {
        error = openssl_error("cannot make a TLS context");
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    if ((!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) ||
        (!options.ciphersuites.empty() &&
         SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1)) {
        error = openssl_error("no usable cipher in the list");
        SSL_CTX_free(ctx);
        return nullptr;
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
        error = openssl_error("cannot read certificate '" + files.certificate + "'");
    } else if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1 &&
               ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
        error = openssl_error("cannot read private key '" + files.private_key + "'");
    } else if (ERR_peek_last_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        error = "private key '" + files.private_key + "' does not match certificate '" +
                files.certificate + "'";
    } else {
        SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
        SSL_CTX_set_timeout(ctx, kSessionTimeoutSeconds);
        use_shared_ticket_keys(ctx);
        SSL_CTX_set_alpn_select_cb(ctx, &alpn_cb, nullptr);
        return ctx;
    }
    SSL_CTX_free(ctx);
    return nullptr;
}

} // namespace

TlsServerContext::TlsServerContext(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsServerContext::~TlsServerContext() = default;

std::shared_ptr<TlsServerContext>
TlsServerContext::create(const TlsServerOptions& options, const TlsStats* stats, std::string& error,
                         std::size_t& failed_entry, bool* ocsp_at_fault) {
    auto impl = std::make_shared<Impl>();
    impl->stats = stats;
    for (std::size_t i = 0; i < options.certificates.size(); ++i) {
        const TlsCertificateFiles& files = options.certificates[i];
        SSL_CTX* ctx = make_server_ctx(files, options, error);
        if (ctx == nullptr) {
            failed_entry = i;
            return nullptr;
        }
        if (i == 0) {
            impl->main = ctx;
        } else {
            impl->named.push_back({files.names, ctx});
        }
        if (!files.ocsp.empty()) {
            auto der = std::make_unique<std::string>();
            error = load_ocsp_response(ctx, files.ocsp, *der);
            if (!error.empty()) {
                failed_entry = i;
                if (ocsp_at_fault != nullptr) {
                    *ocsp_at_fault = true;
                }
                return nullptr;
            }
            staple_ocsp_response(ctx, der.get());
            impl->ocsp.push_back(std::move(der));
        }
    }
    if (impl->main == nullptr) {
        error = "no certificate";
        failed_entry = 0;
        return nullptr;
    }
    // The macros SSL_CTX_set_tlsext_servername_{callback,arg}, without their C casts.
    SSL_CTX_callback_ctrl(impl->main, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&Impl::servername_cb));
    SSL_CTX_ctrl(impl->main, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, impl.get());
    return std::shared_ptr<TlsServerContext>(new TlsServerContext(std::move(impl)));
}

std::unique_ptr<Transport> TlsServerContext::accept(int fd, metrics::Shard* shard) const {
    SSL* ssl = SSL_new(impl_->main);
    if (ssl == nullptr) {
        ERR_clear_error();
        return nullptr;
    }
    SSL_set_accept_state(ssl);
    // The transport keeps the certificates alive: a reload may drop this context mid-handshake.
    return std::make_unique<TlsTransport>(ssl, fd, impl_->stats, shard, impl_);
}

} // namespace lacquer::net
