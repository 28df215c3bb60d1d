#pragma once
// Text rules shared by key building and variant resolution: ASCII case, percent-escapes and
// Accept-Language ranges. Pure and allocation-free; every function accepts any bytes.

#include "lacquer/cache/variant_set.h"
#include "lacquer/http/ascii.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lacquer::cache::detail {

using http::ascii_lower;
using http::hex_value;

using http::escaped_byte;
using http::is_unreserved;

constexpr bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

constexpr std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && is_ows(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_ows(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// True when `encoded` (%-escapes allowed) decodes to exactly `plain`; case-insensitive when
// fold_case. An invalid escape never matches anything.
bool decodes_to(std::string_view encoded, std::string_view plain, bool fold_case);

// The index of the value that equals `text` case-insensitively, the first in config order.
std::optional<std::uint8_t> find_value(const Variant& variant, std::string_view text);

struct LanguageRange {
    std::string_view tag; // never "*", never empty
    std::uint16_t q = 0;  // 1..1000
};

// The ranges of one request's Accept-Language field lines, in priority order (q descending,
// ties in the order sent). Bounded: at most kCapacity ranges are kept, and a field line longer
// than kMaxFieldBytes is ignored whole, so hostile headers cost a fixed amount of work.
class LanguageRanges {
public:
    static constexpr std::size_t kCapacity = 32;
    static constexpr std::size_t kMaxFieldBytes = 4096;

    // Adds the well-formed ranges of one field line; malformed ranges and q=0 are skipped.
    void add_field(std::string_view value);

    std::size_t size() const { return count_; }
    const LanguageRange& operator[](std::size_t i) const { return ranges_[i]; }

    // RFC 4647 lookup against the variant's values: for each range in priority order, an exact
    // match, then the range truncated subtag by subtag, then the first value (config order)
    // with the same primary language. nullopt when no range matches (`*` matches nothing).
    std::optional<std::uint8_t> lookup(const Variant& variant) const;

private:
    void insert(LanguageRange range);

    std::array<LanguageRange, kCapacity> ranges_{};
    std::size_t count_ = 0;
};

} // namespace lacquer::cache::detail
