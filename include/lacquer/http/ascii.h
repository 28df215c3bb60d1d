#pragma once
// ASCII character rules of HTTP text: case folding and hex digits. constexpr, any byte accepted.

#include <cstddef>
#include <string_view>

namespace lacquer::http {

constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// The value of a hex digit, or -1 when c is not one.
constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// RFC 3986 unreserved: ALPHA DIGIT - . _ ~ (an escape of one of these means the byte itself).
constexpr bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// The byte of the escape "%HH" at text[at] (text[at] == '%'), or -1 when it is not a valid one.
constexpr int escaped_byte(std::string_view text, std::size_t at) {
    if (text.size() - at < 3) {
        return -1;
    }
    const int high = hex_value(text[at + 1]);
    const int low = hex_value(text[at + 2]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
}

} // namespace lacquer::http
