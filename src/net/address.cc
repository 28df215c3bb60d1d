#include "lacquer/net/address.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <string_view>
#include <sys/un.h>

namespace lacquer::net {

std::uint16_t SocketAddress::port() const {
    if (storage.ss_family == AF_UNIX) {
        return 0;
    }
    if (storage.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

std::size_t format_host(const sockaddr* addr, char* out, std::size_t capacity) {
    if (addr->sa_family == AF_UNIX) { // a client of a Unix socket listener, as nginx writes it
        constexpr std::string_view kUnix = "unix:";
        const std::size_t n = std::min(kUnix.size(), capacity - 1);
        std::memcpy(out, kUnix.data(), n);
        out[n] = '\0';
        return n;
    }
    const void* src =
        addr->sa_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr);
    if (inet_ntop(addr->sa_family, src, out, static_cast<socklen_t>(capacity)) == nullptr) {
        out[0] = '\0';
        return 0;
    }
    return std::strlen(out);
}

std::string SocketAddress::host_text() const {
    char buf[INET6_ADDRSTRLEN];
    return std::string(buf, format_host(get(), buf, sizeof buf));
}

std::string SocketAddress::text() const {
    if (storage.ss_family == AF_UNIX) {
        return std::string("unix:") + reinterpret_cast<const sockaddr_un*>(&storage)->sun_path;
    }
    if (storage.ss_family == AF_INET6) {
        return "[" + host_text() + "]:" + std::to_string(port());
    }
    return host_text() + ":" + std::to_string(port());
}

std::optional<SocketAddress> unix_address(const std::string& path) {
    SocketAddress out;
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    if (path.empty() || path.size() >= sizeof un->sun_path) {
        return std::nullopt;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return out;
}

namespace {
// getaddrinfo for a stream socket; nullptr and `error` set when it fails.
addrinfo* lookup(const std::string& host, std::uint16_t port, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc =
        getaddrinfo(host.empty() ? "0.0.0.0" : host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
        // AI_ADDRCONFIG hides loopback on hosts without other addresses; try without it.
        hints.ai_flags = AI_NUMERICSERV;
        const int rc2 = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
        if (rc2 != 0 || found == nullptr) {
            error = gai_strerror(rc2);
            return nullptr;
        }
    }
    return found;
}

SocketAddress from_info(const addrinfo& info) {
    SocketAddress out;
    std::memcpy(&out.storage, info.ai_addr, info.ai_addrlen);
    out.length = info.ai_addrlen;
    return out;
}
} // namespace

std::optional<SocketAddress> resolve(const std::string& host, std::uint16_t port,
                                     std::string& error) {
    addrinfo* found = lookup(host, port, error);
    if (found == nullptr) {
        return std::nullopt;
    }
    const SocketAddress out = from_info(*found);
    freeaddrinfo(found);
    return out;
}

std::vector<SocketAddress> resolve_all(const std::string& host, std::uint16_t port,
                                       std::string& error) {
    std::vector<SocketAddress> out;
    addrinfo* found = lookup(host, port, error);
    for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
        const SocketAddress address = from_info(*info);
        const bool seen = std::any_of(out.begin(), out.end(), [&](const SocketAddress& a) {
            return a.length == address.length &&
                   std::memcmp(&a.storage, &address.storage, address.length) == 0;
        });
        if (!seen) {
            out.push_back(address);
        }
    }
    if (found != nullptr) {
        freeaddrinfo(found);
    }
    return out;
}

bool is_numeric_host(const std::string& host) {
    in6_addr scratch{};
    return inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
           inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
}

} // namespace lacquer::net
