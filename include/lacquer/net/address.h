#pragma once
// Socket addresses: resolving "host:port" once at start-up, and printing peers.

#include <cstdint>
#include <optional>
#include <string>
#include <sys/socket.h>

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

// A Unix socket's address; nullopt when the path does not fit.
std::optional<SocketAddress> unix_address(const std::string& path);

// Writes the numeric host of `addr` into `out` (at least INET6_ADDRSTRLEN bytes); returns length.
std::size_t format_host(const sockaddr* addr, char* out, std::size_t capacity);

} // namespace lacquer::net
