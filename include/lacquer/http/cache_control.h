#pragma once
// Cache-Control (RFC 9111 §5.2) and HTTP dates (RFC 9110 §5.6.7), parsed from header views.
// Pure functions; bounded work on hostile input.

#include "lacquer/http/head.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lacquer::http {

struct CacheControl {
    bool no_store = false;
    bool no_cache = false;
    bool is_private = false;
    bool is_public = false;
    bool must_revalidate = false;        // must-revalidate or proxy-revalidate
    bool must_revalidate_itself = false; // must-revalidate (RFC 9111 §3.5 names only this one)
    // Seconds; an invalid value counts as 0 (RFC 9111 §1.2.2: treat as stale).
    std::optional<std::int64_t> max_age;
    std::optional<std::int64_t> s_maxage;
    std::optional<std::int64_t> stale_while_revalidate;
    std::optional<std::int64_t> stale_if_error;
};

// All Cache-Control fields of `headers`, combined; the first occurrence of a directive wins.
CacheControl parse_cache_control(const HeaderList& headers);

// RFC 9213 §2.2: the first of the targeted `fields` (in that order) that `headers` carry with a
// valid, non-empty RFC 8941 Dictionary value (all its lines joined), read as cache directives
// (§2.1); nullopt when there is none. When there is one, it replaces Cache-Control and Expires
// for this cache's freshness and storage decisions.
std::optional<CacheControl> parse_targeted_cache_control(const HeaderList& headers,
                                                         std::span<const std::string> fields);

// IMF-fixdate, RFC 850 and asctime forms; seconds since the epoch, or nullopt.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into `out` (at least 29 bytes); returns 29.
std::size_t format_http_date(std::int64_t unix_seconds, char* out);

} // namespace lacquer::http
