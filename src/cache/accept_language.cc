// Accept-Language (RFC 9110 §12.5.4) parsed into a bounded, priority-ordered list of ranges and
// matched with RFC 4647 lookup against a variant's closed set of values. Input is hostile:
// everything is bounded by LanguageRanges' capacity and field size, and nothing allocates.
#include "lacquer/http/head.h"
#include "request_text.h"

namespace lacquer::cache::detail {

namespace {

constexpr bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"   (RFC 4647 §2.1)
bool is_language_range(std::string_view tag) {
    if (tag == "*") {
        return true;
    }
    std::size_t subtag_length = 0;
    bool primary = true;
    for (char c : tag) {
        if (c == '-') {
            if (subtag_length == 0) {
                return false;
            }
            subtag_length = 0;
            primary = false;
            continue;
        }
        if (!(is_alpha(c) || (!primary && is_digit(c))) || ++subtag_length > 8) {
            return false;
        }
    }
    return subtag_length > 0;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<std::uint16_t> parse_qvalue(std::string_view text) {
    if (text.empty() || (text[0] != '0' && text[0] != '1')) {
        return std::nullopt;
    }
    const int whole = text[0] - '0';
    text.remove_prefix(1);
    if (text.empty()) {
        return static_cast<std::uint16_t>(whole * 1000);
    }
    if (text[0] != '.' || text.size() > 4) {
        return std::nullopt;
    }
    text.remove_prefix(1);
    int thousandths = 0;
    int scale = 100;
    for (char c : text) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        thousandths += (c - '0') * scale;
        scale /= 10;
    }
    if (whole == 1 && thousandths != 0) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(whole * 1000 + thousandths);
}

// The weight of one element's parameters (";q=0.5"); nullopt when they are malformed. Only the
// weight is defined for Accept-Language, so any other parameter makes the element malformed.
std::optional<std::uint16_t> parse_weight(std::string_view params) {
    std::uint16_t q = 1000;
    bool seen = false;
    while (!params.empty()) {
        // params starts at a ';'
        params.remove_prefix(1);
        const std::size_t next = params.find(';');
        const std::string_view param = trim_ows(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next);
        if (seen || param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') {
            return std::nullopt;
        }
        const std::optional<std::uint16_t> parsed = parse_qvalue(param.substr(2));
        if (!parsed) {
            return std::nullopt;
        }
        q = *parsed;
        seen = true;
    }
    return q;
}

std::string_view primary_subtag(std::string_view tag) {
    return tag.substr(0, tag.find('-'));
}

std::optional<std::uint8_t> match_range(const Variant& variant, std::string_view tag) {
    if (const auto exact = find_value(variant, tag)) {
        return exact;
    }
    // RFC 4647 §3.4: drop the last subtag, and a singleton left in front of it, and retry.
    std::string_view shorter = tag;
    for (;;) {
        const std::size_t dash = shorter.rfind('-');
        if (dash == std::string_view::npos) {
            break;
        }
        shorter = shorter.substr(0, dash);
        if (shorter.size() >= 2 && shorter[shorter.size() - 2] == '-') {
            shorter.remove_suffix(2);
        }
        if (const auto truncated = find_value(variant, shorter)) {
            return truncated;
        }
    }
    // Beyond RFC 4647: de-AT still prefers de-DE over the default.
    const std::string_view primary = primary_subtag(tag);
    for (std::size_t i = 0; i < variant.values.size(); ++i) {
        const std::string_view value = variant.values[i];
        if (http::iequals(value.substr(0, variant.primary_lengths[i]), primary)) {
            return static_cast<std::uint8_t>(i);
        }
    }
    return std::nullopt;
}

} // namespace

void LanguageRanges::add_field(std::string_view value) {
    if (value.size() > kMaxFieldBytes) {
        return;
    }
    while (!value.empty() && count_ < kCapacity) {
        const std::size_t comma = value.find(',');
        const std::string_view element = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);

        const std::size_t semicolon = element.find(';');
        const std::string_view tag = trim_ows(element.substr(0, semicolon));
        if (tag.empty() || !is_language_range(tag)) {
            continue;
        }
        const std::optional<std::uint16_t> q = parse_weight(
            semicolon == std::string_view::npos ? std::string_view() : element.substr(semicolon));
        // `*` matches no closed-set value, so it is not worth a slot.
        if (!q || *q == 0 || tag == "*") {
            continue;
        }
        insert(LanguageRange{tag, *q});
    }
}

void LanguageRanges::insert(LanguageRange range) {
    // Stable: after every range of equal or higher weight.
    std::size_t at = count_;
    while (at > 0 && ranges_[at - 1].q < range.q) {
        ranges_[at] = ranges_[at - 1];
        --at;
    }
    ranges_[at] = range;
    ++count_;
}

std::optional<std::uint8_t> LanguageRanges::lookup(const Variant& variant) const {
    for (std::size_t i = 0; i < count_; ++i) {
        if (const auto found = match_range(variant, ranges_[i].tag)) {
            return found;
        }
    }
    return std::nullopt;
}

} // namespace lacquer::cache::detail
