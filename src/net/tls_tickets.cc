#include "tls_tickets.h"

#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace lacquer::net {

namespace {

constexpr auto kRotation = std::chrono::hours(1);
constexpr std::size_t kKeep = 12; // a ticket lives at most this many rotations

struct TicketKey {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::chrono::steady_clock::time_point made{};
};

class TicketRing {
public:
    // The key to encrypt with now (rotated when due).
    TicketKey current() {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (keys_.empty() || now - keys_.front().made >= kRotation) {
            TicketKey key;
            key.made = now;
            if (RAND_bytes(key.name.data(), key.name.size()) != 1 ||
                RAND_bytes(key.aes.data(), key.aes.size()) != 1 ||
                RAND_bytes(key.hmac.data(), key.hmac.size()) != 1) {
                return {}; // all zero name: the caller gives up on a ticket
            }
            keys_.push_front(key);
            while (keys_.size() > kKeep) {
                keys_.pop_back();
            }
        }
        return keys_.front();
    }
    // The key named `name`; `newest` says whether it is the current one.
    bool find(const unsigned char* name, TicketKey& out, bool& newest) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
                out = keys_[i];
                newest = i == 0 && std::chrono::steady_clock::now() - keys_[i].made < kRotation;
                return true;
            }
        }
        return false;
    }

private:
    std::mutex mutex_;
    std::deque<TicketKey> keys_; // newest first
};

TicketRing& ring() {
    static TicketRing the_ring;
    return the_ring;
}

bool set_hmac_key(EVP_MAC_CTX* hctx, std::array<unsigned char, 32>& key) {
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.data(), key.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

// OpenSSL's ticket key callback: 1 = ok, 2 = ok but renew the ticket, 0 = no such key
// (full handshake), -1 = error.
int ticket_key_cb(SSL*, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                  EVP_MAC_CTX* hctx, int encrypt) {
    TicketKey key;
    if (encrypt != 0) {
        key = ring().current();
        const bool made = key.name != std::array<unsigned char, 16>{};
        if (!made || RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) {
            return -1;
        }
        std::memcpy(name, key.name.data(), key.name.size());
        if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1 ||
            !set_hmac_key(hctx, key.hmac)) {
            return -1;
        }
        return 1;
    }
    bool newest = false;
    if (!ring().find(name, key, newest)) {
        return 0;
    }
    if (!set_hmac_key(hctx, key.hmac) ||
        EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
        return -1;
    }
    return newest ? 1 : 2;
}

} // namespace

void use_shared_ticket_keys(SSL_CTX* ctx) {
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &ticket_key_cb);
}

} // namespace lacquer::net
