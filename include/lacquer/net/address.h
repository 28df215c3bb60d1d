#pragma once
// Socket addresses: resolving "host:port" once at start-up, and printing peers.

#include <cstdint>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace lacquer::net {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    std::uint16_t port() const;
    std::string host_text() const; // "127.0.0.1", "::1", "unix:"
    std::string text() const;      // "127.0.0.1:80", "[::1]:80", "unix:/run/x.sock"
};

// Numeric literals are used as they are; names are resolved (blocking: start-up and reload
// only). Returns nullopt and sets `error` when it cannot.
std::optional<SocketAddress> resolve(const std::string& host, std::uint16_t port,
                                     std::string& error);
// Every address `host` resolves to, in the resolver's order without duplicates; empty (and
// `error` set) when it does not resolve. Blocking: never on a worker.
std::vector<SocketAddress> resolve_all(const std::string& host, std::uint16_t port,
                                       std::string& error);
// Whether `host` is an IPv4 or IPv6 literal (nothing to resolve).
bool is_numeric_host(const std::string& host);

// A Unix socket's address; nullopt when the path does not fit.
std::optional<SocketAddress> unix_address(const std::string& path);

// Writes the numeric host of `addr` into `out` (at least INET6_ADDRSTRLEN bytes); returns length.
std::size_t format_host(const sockaddr* addr, char* out, std::size_t capacity);

} // namespace lacquer::net
