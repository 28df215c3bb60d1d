#include "tls_ocsp.h"

#include "lacquer/core/errno_text.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <memory>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace lacquer::net {

namespace {

// An OCSP response is a few KiB; a file much larger than this is not one.
constexpr std::size_t kMaxResponseBytes = 64 * 1024;

struct OcspFree {
    void operator()(OCSP_RESPONSE* r) const { OCSP_RESPONSE_free(r); }
    void operator()(OCSP_BASICRESP* r) const { OCSP_BASICRESP_free(r); }
    void operator()(OCSP_CERTID* r) const { OCSP_CERTID_free(r); }
};

// The certificate in `ctx`'s chain that issued `leaf`, or nullptr.
X509* issuer_in_chain(SSL_CTX* ctx, X509* leaf) {
    STACK_OF(X509)* chain = nullptr;
    // SSL_CTX_get0_chain_certs, without its C cast.
    if (SSL_CTX_ctrl(ctx, SSL_CTRL_GET_CHAIN_CERTS, 0, static_cast<void*>(&chain)) != 1 ||
        chain == nullptr) {
        return nullptr;
    }
    for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509* candidate = sk_X509_value(chain, i);
        if (X509_check_issued(candidate, leaf) == X509_V_OK) {
            return candidate;
        }
    }
    return nullptr;
}

// Whether `basic` holds an answer for `leaf`: by the full certificate id when the issuer is
// known (name and key hashes and serial), else by the serial number alone.
bool answers_for(OCSP_BASICRESP* basic, X509* leaf, X509* issuer) {
    const int count = OCSP_resp_count(basic);
    std::unique_ptr<OCSP_CERTID, OcspFree> wanted;
    for (int i = 0; i < count; ++i) {
        const OCSP_CERTID* id = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i));
        if (issuer != nullptr) {
            ASN1_OBJECT* md = nullptr;
            if (OCSP_id_get0_info(nullptr, &md, nullptr, nullptr, const_cast<OCSP_CERTID*>(id)) !=
                1) {
                continue;
            }
            // The responder chose the hash: make our id with the same one.
            const EVP_MD* digest = EVP_get_digestbyobj(md);
            wanted.reset(OCSP_cert_to_id(digest != nullptr ? digest : EVP_sha1(), leaf, issuer));
            if (wanted && OCSP_id_cmp(wanted.get(), id) == 0) {
                return true;
            }
            continue;
        }
        ASN1_INTEGER* serial = nullptr;
        if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, const_cast<OCSP_CERTID*>(id)) ==
                1 &&
            ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) == 0) {
            return true;
        }
    }
    return false;
}

int status_cb(SSL* ssl, void* arg) {
    const auto* der = static_cast<const std::string*>(arg);
    if (der == nullptr || der->empty()) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    // OpenSSL takes the copy and frees it with the connection.
    auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der->size()));
    if (copy == nullptr) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    std::copy(der->begin(), der->end(), copy);
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size())) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

std::string load_ocsp_response(SSL_CTX* ctx, const std::string& path, std::string& der) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "cannot read OCSP response '" + path + "': " + core::errno_text(errno);
    }
    der.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (der.size() > kMaxResponseBytes) {
        return "'" + path + "' is not an OCSP response (larger than 64 KiB)";
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<OCSP_RESPONSE, OcspFree> response(
        d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    if (!response || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        return "'" + path + "' is not an OCSP response (DER, as `openssl ocsp -respout` writes)";
    }
    const int status = OCSP_response_status(response.get());
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        return "OCSP response '" + path + "' is not successful (" +
               OCSP_response_status_str(status) + ")";
    }
    std::unique_ptr<OCSP_BASICRESP, OcspFree> basic(OCSP_response_get1_basic(response.get()));
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    if (!basic || leaf == nullptr) {
        ERR_clear_error();
        return "OCSP response '" + path + "' has no basic response";
    }
    if (!answers_for(basic.get(), leaf, issuer_in_chain(ctx, leaf))) {
        ERR_clear_error();
        return "OCSP response '" + path + "' is not for this certificate";
    }
    ERR_clear_error();
    return {};
}

void staple_ocsp_response(SSL_CTX* ctx, const std::string* der) {
    // The macros SSL_CTX_set_tlsext_status_{cb,arg}, without their C casts.
    SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                          reinterpret_cast<void (*)()>(&status_cb));
    SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB_ARG, 0, const_cast<std::string*>(der));
}

} // namespace lacquer::net
