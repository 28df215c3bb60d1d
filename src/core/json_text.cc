#include "lacquer/core/json_text.h"

namespace lacquer::core {

std::size_t utf8_sequence(std::string_view s) {
    if (s.empty()) {
        return 0;
    }
    const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    std::size_t n = 0;
    unsigned char lo = 0x80; // the second byte's range, narrowed for the first bytes below
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        lo = b0 == 0xe0 ? 0xa0 : 0x80; // overlong
        hi = b0 == 0xed ? 0x9f : 0xbf; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        lo = b0 == 0xf0 ? 0x90 : 0x80; // overlong
        hi = b0 == 0xf4 ? 0x8f : 0xbf; // past U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi) {
        return 0;
    }
    for (std::size_t i = 2; i < n; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xbf) {
            return 0;
        }
    }
    return n;
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            const std::size_t n = utf8_sequence(text.substr(i));
            if (n > 0) {
                out.append(text.substr(i, n));
                i += n - 1;
            } else {
                out.append("\\udc");
                out.push_back(kHex[u >> 4]);
                out.push_back(kHex[u & 15]);
            }
        } else if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c == '\t') {
            out.append("\\t");
        } else if (u < 0x20 || u == 0x7f) {
            out.append("\\u00");
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
}

void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    append_json_escaped(out, text);
    out.push_back('"');
}

std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_json_string(out, text);
    return out;
}

} // namespace lacquer::core
