#pragma once
// OCSP stapling from a file an operator keeps fresh (fetched by a cron job or a certificate
// manager): a DER OCSP response read at start and on reload, next to the certificate it answers
// for, and sent to each client that asks for it (status_request). Lacquer does not ask an
// OCSP responder itself: no outbound connections from the handshake path.
// Thread: load at context build (one thread); the staple callback runs on any worker.

#include <openssl/ssl.h>
#include <string>

namespace lacquer::net {

// Reads `path` and checks that it is a successful OCSP response with an answer for the
// certificate of `ctx` (its issuer found in the chain, or else the serial number). Returns ""
// with the response's bytes in `der`, or why it cannot be used.
std::string load_ocsp_response(SSL_CTX* ctx, const std::string& path, std::string& der);

// Staples `der` (which outlives `ctx`'s handshakes) to the handshakes of `ctx` whose client
// asks for the certificate status.
void staple_ocsp_response(SSL_CTX* ctx, const std::string* der);

} // namespace lacquer::net
