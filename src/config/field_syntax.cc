// Value syntax checks. These are the only places that decide what a name, token or address
// may look like, so the loader and its tests agree on one definition.
#include "field_syntax.h"

#include <arpa/inet.h>
#include <charconv>

namespace lacquer::config::detail {

namespace {

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_tchar(char c) {
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    return is_alnum(c) || kExtra.find(c) != std::string_view::npos;
}

bool all_digits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return !text.empty();
}

constexpr std::size_t kMaxRegexBytes = 1024; // proxy::UrlPattern::kMaxBytes

void append_escaped(std::string& out, std::string_view text, bool escape_quotes) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (escape_quotes && (c == '"' || c == '\\')) {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        } else {
            out += c;
        }
    }
}

} // namespace

} // namespace lacquer::config::detail

namespace lacquer::config {

std::optional<HostPort> parse_host_port(std::string_view text, std::uint16_t min_port,
                                        std::string& problem) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            problem = "expected [IPv6]:port";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr v6{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
            problem = "not an IPv6 address in brackets";
            return std::nullopt;
        }
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            problem = "expected host:port";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            problem = "an IPv6 address needs brackets, as in [::1]:8080";
            return std::nullopt;
        }
        if (!detail::is_host_name(host)) {
            problem = "expected host:port with a host name or IPv4 address";
            return std::nullopt;
        }
    }
    unsigned value = 0;
    const char* end = port.data() + port.size();
    if (!detail::all_digits(port) || std::from_chars(port.data(), end, value).ptr != end ||
        value > 65535 || value < min_port) {
        problem = "the port must be a number from " + std::to_string(min_port) + " to 65535";
        return std::nullopt;
    }
    return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

} // namespace lacquer::config

namespace lacquer::config::detail {

bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    bool numeric = true;
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
        if (i == host.size() || host[i] == '.') {
            if (i == label_start) {
                return false; // empty label: "a..b", ".a", "a."
            }
            label_start = i + 1;
            continue;
        }
        const char c = host[i];
        if (!is_alnum(c) && c != '-' && c != '_') {
            return false;
        }
        numeric = numeric && c >= '0' && c <= '9';
    }
    if (numeric) {
        in_addr v4{};
        return inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1;
    }
    return true;
}

bool is_name(std::string_view text) {
    if (text.empty() || text.size() > 64) {
        return false;
    }
    for (char c : text) {
        if (!is_alnum(c) && c != '_' && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

bool is_token(std::string_view text) {
    for (char c : text) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return !text.empty();
}

bool is_method(std::string_view text) {
    for (char c : text) {
        if (c >= 'a' && c <= 'z') {
            return false;
        }
    }
    return is_token(text);
}

std::string check_variant_source(std::string_view text) {
    const std::size_t colon = text.find(':');
    const std::string_view kind = text.substr(0, colon);
    if (colon == std::string_view::npos ||
        (kind != "query" && kind != "cookie" && kind != "header")) {
        return "expected query:NAME, cookie:NAME or header:NAME";
    }
    const std::string_view name = text.substr(colon + 1);
    if (kind == "header") {
        return is_token(name) ? "" : "expected header:NAME with NAME an HTTP field name";
    }
    // Query and cookie names are compared as written; they only need to be visible text.
    for (char c : name) {
        if (c == ' ' || c == ';' || c == '=' || c == '&') {
            return "expected " + std::string(kind) + ":NAME without spaces, ';', '=' or '&'";
        }
    }
    return name.empty() ? "expected " + std::string(kind) + ":NAME" : "";
}

std::string check_host_pattern(std::string_view text) {
    const std::string_view rest = text.substr(0, 2) == "*." ? text.substr(2) : text;
    if (!is_host_name(rest)) {
        return "expected a host name or *.suffix (without a port)";
    }
    return "";
}

std::string check_path_regex(const std::string& text) {
    if (text.size() > kMaxRegexBytes) {
        return "the regex is longer than " + std::to_string(kMaxRegexBytes) + " bytes";
    }
    return "";
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost") {
        return true;
    }
    const std::string text(host);
    in_addr v4{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        const bool v4_mapped = IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(&v6) || v4_mapped;
    }
    return false;
}

bool is_printable(std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string listed(const std::vector<std::string>& names) {
    static constexpr std::size_t kMaxListed = 10;
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
        out += i == 0 ? "" : ", ";
        out += names[i];
    }
    return names.size() > kMaxListed ? out + ", ..." : out;
}

std::string quoted(std::string_view text) {
    static constexpr std::size_t kMaxShown = 60;
    std::string out = "\"";
    append_escaped(out, text.substr(0, kMaxShown), true);
    if (text.size() > kMaxShown) {
        out += "...";
    }
    return out + "\"";
}

std::string escaped(std::string_view text) {
    std::string out;
    append_escaped(out, text, false);
    return out;
}

} // namespace lacquer::config::detail
