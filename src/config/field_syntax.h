#pragma once
// The syntax of single config values (addresses, names, tokens, patterns), as pure functions
// on strings. Private to the config module. A check returns the problem in words, or an
// empty string when the text is fine; the caller adds where it is and what was written.

#include "lacquer/config/config.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::config::detail {

// Dot-separated labels of letters, digits, '-' and '_'; an all-numeric name must be IPv4.
bool is_host_name(std::string_view text);

// Pool, variant and route names: they become metric labels and log fields.
bool is_name(std::string_view text);

// An HTTP field name or method (RFC 9110 token).
bool is_token(std::string_view text);

// A method as routes match it: a token in upper case ("GET", "PURGE", "M-SEARCH").
bool is_method(std::string_view text);

// "query:NAME", "cookie:NAME" or "header:NAME".
std::string check_variant_source(std::string_view text);

// "api.example.com" or "*.example.com"; case does not matter.
std::string check_host_pattern(std::string_view text);

// A regular expression within a size bound. Its syntax is RE2's, checked when the routes are
// compiled (proxy::RouteTable): the loader sees only core and yaml-cpp (STYLE.md §B).
std::string check_path_regex(const std::string& text);

// True for an address only this machine can reach: 127.0.0.0/8, ::1 (also v4-mapped), or the
// name localhost. Other names may resolve anywhere, so they are not.
bool is_loopback_host(std::string_view host);

// True when every byte is printable (no control characters, no DEL).
bool is_printable(std::string_view text);

// "a, b, c" for messages; long lists end in ", ..." so a message stays one readable line.
std::string listed(const std::vector<std::string>& names);

// `text` in double quotes, with control bytes escaped and long text shortened, for messages.
std::string quoted(std::string_view text);

// `text` with control bytes escaped as \xNN (yaml-cpp puts raw input bytes in its messages).
std::string escaped(std::string_view text);

} // namespace lacquer::config::detail
