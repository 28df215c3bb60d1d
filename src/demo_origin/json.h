#pragma once
// Appending JSON pieces and numbers to a string without iostreams or temporaries: the demo
// origin formats every response this way, so it must stay cheap.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace lacquer::demo_origin {

// `"text"` with ", \ and control bytes escaped. Bytes >= 0x80 pass through unchanged.
void append_json_string(std::string& out, std::string_view text);

inline void append_number(std::string& out, std::uint64_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, result.ptr);
}

// 16 lowercase hex digits.
void append_hex64(std::string& out, std::uint64_t value);

// FNV-1a 64, streamable: start with kFnvOffset and feed bytes in any split.
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline std::uint64_t fnv1a64(std::uint64_t hash, std::string_view bytes) {
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

} // namespace lacquer::demo_origin
