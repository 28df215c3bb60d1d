#pragma once
// RFC 8941 Structured Field Values: the Dictionary (§3.2), parsed by the algorithm of §4.2.2
// with every item type of §3.3 validated. Views into the input; bounded work on hostile input.
// A field that does not parse is invalid as a whole (§4.2): the caller ignores all of it.

#include <cstdint>
#include <string_view>
#include <vector>

namespace lacquer::http::sf {

enum class ItemType : std::uint8_t {
    Integer,      // `integer`
    Decimal,      // `integer` holds it times 1000 (at most three fractional digits)
    String,       // `text`: between the quotes, escapes (\" \\) still in it
    Token,        // `text`
    ByteSequence, // `text`: the base64 between the colons
    Boolean,      // `integer`: 0 or 1; a member without a value is Boolean true (§3.2)
    InnerList,    // `text`: the whole "( ... )"; its items are validated, not kept
};

// One member of a Dictionary; its parameters are validated and not kept.
struct DictMember {
    std::string_view key;
    ItemType type = ItemType::Boolean;
    std::int64_t integer = 1;
    std::string_view text;
};

// Parses `field` (several field lines joined with ", ") as a Dictionary into `out` (cleared
// first), keys in order of first appearance, a later duplicate overwriting the value (§4.2.2).
// False when `field` is not a valid Dictionary; then `out` is empty.
bool parse_dictionary(std::string_view field, std::vector<DictMember>& out);

} // namespace lacquer::http::sf
