// JSON string escaping per RFC 8259 §7: the two mandatory escapes plus all control characters.
#include "demo_origin/json.h"

namespace lacquer::demo_origin {

namespace {

constexpr char kHex[] = "0123456789abcdef";

} // namespace

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t plain = 0; // start of the run of bytes that need no escape
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out.append(text.data() + plain, i - plain);
        plain = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
            break;
        }
    }
    out.append(text.data() + plain, text.size() - plain);
    out += '"';
}

void append_hex64(std::string& out, std::uint64_t value) {
    char buf[16];
    for (int i = 15; i >= 0; --i) {
        buf[i] = kHex[value & 0xf];
        value >>= 4;
    }
    out.append(buf, sizeof buf);
}

} // namespace lacquer::demo_origin
