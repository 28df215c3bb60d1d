// libFuzzer target: RFC 8941 Dictionaries -> sf::parse_dictionary, and the same bytes as an
// RFC 9213 targeted field -> parse_targeted_cache_control. Beyond "no crash":
// - parsing is deterministic, and a refused field leaves no members;
// - every key follows §3.1.2 (lcalpha or '*', then lcalpha DIGIT _ - . *) and appears once;
// - values are in the ranges of §3.3 (Integer: 15 digits, Decimal: 12 + 3 digits);
// - a valid dictionary written back canonically (key=value, ", ") parses to the same members;
// - the targeted field's deltas are in 0..2^31 (RFC 9111 §1.2.2).
#include "lacquer/http/structured_field.h"

#include "lacquer/core/assert.h"
#include "lacquer/http/cache_control.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer;
using namespace lacquer::http;

bool key_char(char c, bool first) {
    const bool lc = c >= 'a' && c <= 'z';
    return first ? (lc || c == '*')
                 : (lc || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*');
}

void check_key(std::string_view key) {
    LACQUER_ASSERT(!key.empty());
    for (std::size_t i = 0; i < key.size(); ++i) {
        LACQUER_ASSERT(key_char(key[i], i == 0));
    }
}

std::string write_back(const std::vector<sf::DictMember>& members) {
    std::string out;
    for (const sf::DictMember& m : members) {
        out += out.empty() ? "" : ", ";
        out += m.key;
        switch (m.type) {
        case sf::ItemType::Integer:
            out += "=" + std::to_string(m.integer);
            break;
        case sf::ItemType::Decimal: {
            const std::int64_t v = m.integer < 0 ? -m.integer : m.integer;
            std::string frac = std::to_string(v % 1000);
            frac.insert(0, 3 - frac.size(), '0');
            out += std::string("=") + (m.integer < 0 ? "-" : "") + std::to_string(v / 1000) + "." +
                   frac;
            break;
        }
        case sf::ItemType::String:
            out += "=\"" + std::string(m.text) + "\"";
            break;
        case sf::ItemType::Token:
        case sf::ItemType::InnerList:
            out += "=" + std::string(m.text);
            break;
        case sf::ItemType::ByteSequence:
            out += "=:" + std::string(m.text) + ":";
            break;
        case sf::ItemType::Boolean:
            out += m.integer == 1 ? "" : "=?0";
            break;
        }
    }
    return out;
}

bool same(const std::vector<sf::DictMember>& a, const std::vector<sf::DictMember>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].key != b[i].key || a[i].type != b[i].type || a[i].integer != b[i].integer ||
            a[i].text != b[i].text) {
            return false;
        }
    }
    return true;
}

void check_delta(const std::optional<std::int64_t>& d) {
    LACQUER_ASSERT(!d || (*d >= 0 && *d <= 2147483648LL));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) {
        return 0;
    }
    const std::string field(reinterpret_cast<const char*>(data), size);
    std::vector<sf::DictMember> members;
    const bool valid = sf::parse_dictionary(field, members);
    std::vector<sf::DictMember> again{sf::DictMember{}};
    LACQUER_ASSERT(sf::parse_dictionary(field, again) == valid);
    if (!valid) {
        LACQUER_ASSERT(members.empty() && again.empty());
    } else {
        LACQUER_ASSERT(same(members, again));
        for (std::size_t i = 0; i < members.size(); ++i) {
            check_key(members[i].key);
            for (std::size_t j = 0; j < i; ++j) {
                LACQUER_ASSERT(members[j].key != members[i].key);
            }
            if (members[i].type == sf::ItemType::Integer) {
                LACQUER_ASSERT(members[i].integer <= 999'999'999'999'999LL &&
                               members[i].integer >= -999'999'999'999'999LL);
            }
            if (members[i].type == sf::ItemType::Decimal) {
                LACQUER_ASSERT(members[i].integer <= 999'999'999'999'999LL &&
                               members[i].integer >= -999'999'999'999'999LL);
            }
        }
        const std::string canonical = write_back(members);
        std::vector<sf::DictMember> reparsed;
        LACQUER_ASSERT(sf::parse_dictionary(canonical, reparsed));
        LACQUER_ASSERT(same(members, reparsed));
    }

    HeaderList headers;
    headers.items[headers.count++] = Header{"CDN-Cache-Control", field};
    const std::vector<std::string> fields{"CDN-Cache-Control"};
    const std::optional<CacheControl> cc = parse_targeted_cache_control(headers, fields);
    LACQUER_ASSERT(cc.has_value() == (valid && !members.empty() && !field.empty()));
    if (cc) {
        check_delta(cc->max_age);
        check_delta(cc->s_maxage);
        check_delta(cc->stale_while_revalidate);
        check_delta(cc->stale_if_error);
    }
    return 0;
}
