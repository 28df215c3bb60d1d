#pragma once
// Session-ticket keys of the process: one ring shared by every TLS listener and worker (so a
// ticket from one worker resumes on another, and across reloads), made at random in memory,
// never written anywhere, and rotated: a new key encrypts every kRotation, and tickets of the
// previous kKeep keys still decrypt (and are renewed).
// Thread: any (a mutex guards the ring; it is taken once per full handshake or resumption).

#include <openssl/ssl.h>

namespace lacquer::net {

// Installs the ring's callback on `ctx`.
void use_shared_ticket_keys(SSL_CTX* ctx);

} // namespace lacquer::net
