#pragma once
// Header rules shared by both directions: token lists, hop-by-hop headers (RFC 9110 §7.6.1).

#include "lacquer/http/head.h"

#include <string_view>

namespace lacquer::http {

// True when the comma-separated `list` holds `token` (case-insensitive, OWS trimmed).
bool has_token(std::string_view list, std::string_view token);

// Calls fn(token) for each non-empty element of a comma-separated list, OWS trimmed.
template <typename Fn> void for_each_token(std::string_view list, Fn&& fn) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            fn(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

// Headers that describe one connection and are never forwarded: the fixed set, plus the
// message's framing headers (Content-Length, Transfer-Encoding), which the proxy rewrites.
bool is_hop_by_hop(std::string_view name);

// True when `name` must not be forwarded from `headers`: hop-by-hop, or named by a Connection
// header of the same message.
bool is_connection_specific(const HeaderList& headers, std::string_view name);

} // namespace lacquer::http
