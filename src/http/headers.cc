#include "lacquer/http/headers.h"

#include <array>

namespace lacquer::http {

namespace {
char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
} // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

const Header* HeaderList::find(std::string_view name) const {
    for (const Header& h : *this) {
        if (iequals(h.name, name)) {
            return &h;
        }
    }
    return nullptr;
}

std::size_t HeaderList::count_of(std::string_view name) const {
    std::size_t n = 0;
    for (const Header& h : *this) {
        n += iequals(h.name, name) ? 1 : 0;
    }
    return n;
}

bool has_token(std::string_view list, std::string_view token) {
    bool found = false;
    for_each_token(list, [&](std::string_view item) { found = found || iequals(item, token); });
    return found;
}

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 10> kHopByHop{"Connection",
                                                                "Keep-Alive",
                                                                "Proxy-Connection",
                                                                "TE",
                                                                "Trailer",
                                                                "Transfer-Encoding",
                                                                "Upgrade",
                                                                "Proxy-Authenticate",
                                                                "Proxy-Authorization",
                                                                "Content-Length"};
    for (std::string_view h : kHopByHop) {
        if (iequals(h, name)) {
            return true;
        }
    }
    return false;
}

bool is_connection_specific(const HeaderList& headers, std::string_view name) {
    if (is_hop_by_hop(name)) {
        return true;
    }
    for (const Header& h : headers) {
        if (iequals(h.name, "Connection") && has_token(h.value, name)) {
            return true;
        }
    }
    return false;
}

} // namespace lacquer::http
