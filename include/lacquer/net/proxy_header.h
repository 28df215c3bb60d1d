#pragma once
// The PROXY protocol (haproxy's proxy-protocol.txt, v1 text and v2 binary) that a load
// balancer or TLS terminator sends before anything else to say whom the connection is for.
// parse_proxy_header() is pure (the fuzz target tests/fuzz/proxy_header.cc drives it); the
// transport below reads the header off a socket before the connection's real transport starts.

#include "lacquer/net/transport.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace lacquer::net {

// v1 is at most 107 bytes; v2 is 16 + its length, which we bound (TLVs included).
inline constexpr std::size_t kMaxProxyHeader = 16 + 2048;

struct ProxyHeader {
    enum class Status : std::uint8_t { NeedMore, Done, Invalid };
    Status status = Status::NeedMore;
    std::size_t length = 0; // Done: the header's bytes, to consume
    // Done: the client's address as text; empty for LOCAL, UNKNOWN or a family without one
    // (the socket's peer stays the client then).
    char source[46] = {};
    std::size_t source_length = 0;
    std::string_view source_host() const { return {source, source_length}; }
};

// Parses the front of `bytes`. NeedMore while a valid header may still follow.
ProxyHeader parse_proxy_header(std::string_view bytes);

// Whether `bytes` start a PROXY header (v1 "PROXY " or the v2 signature): -1 not, 0 cannot tell
// yet, 1 yes.
int proxy_signature(std::string_view bytes);

// A transport that first reads the PROXY header off the socket (peeking, so that nothing after
// it is taken), then hands over to `inner` (nullptr: the plain socket). `trusted`: the peer is
// in proxy_from and must send a header; otherwise a header is refused (the handshake fails)
// and anything else passes. The header's client address is the transport's peer_override().
std::unique_ptr<Transport> proxy_protocol_transport(std::unique_ptr<Transport> inner, bool trusted);

} // namespace lacquer::net
