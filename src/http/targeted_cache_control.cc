// RFC 9213 targeted cache control: CDN-Cache-Control and its kin, read as RFC 8941 Dictionaries.
#include "lacquer/http/cache_control.h"
#include "lacquer/http/headers.h"
#include "lacquer/http/structured_field.h"

namespace lacquer::http {

namespace {

constexpr std::int64_t kMaxDelta = 2147483648LL; // RFC 9111 §1.2.2: cap at 2^31

// RFC 9213 §2.1: a directive whose value has the wrong type is ignored. A flag is a Boolean
// (true when written bare); no-cache and private with an argument (the field-name lists of
// RFC 9111 are no Structured Field) still count, on the safe side: store less, not more.
bool flag(const sf::DictMember& m, bool argument_counts = false) {
    if (m.type == sf::ItemType::Boolean) {
        return m.integer == 1;
    }
    return argument_counts;
}

void seconds(const sf::DictMember& m, std::optional<std::int64_t>& field) {
    if (m.type == sf::ItemType::Integer && m.integer >= 0) {
        field = m.integer < kMaxDelta ? m.integer : kMaxDelta;
    }
}

CacheControl directives(const std::vector<sf::DictMember>& members) {
    CacheControl cc;
    for (const sf::DictMember& m : members) {
        // Dictionary keys are lower case by definition (RFC 8941 §3.2): compared as bytes.
        if (m.key == "no-store") {
            cc.no_store = flag(m);
        } else if (m.key == "no-cache") {
            cc.no_cache = flag(m, true);
        } else if (m.key == "private") {
            cc.is_private = flag(m, true);
        } else if (m.key == "public") {
            cc.is_public = flag(m);
        } else if (m.key == "must-revalidate") {
            cc.must_revalidate_itself = flag(m);
            cc.must_revalidate = cc.must_revalidate || cc.must_revalidate_itself;
        } else if (m.key == "proxy-revalidate") {
            cc.must_revalidate = cc.must_revalidate || flag(m);
        } else if (m.key == "max-age") {
            seconds(m, cc.max_age);
        } else if (m.key == "s-maxage") {
            seconds(m, cc.s_maxage);
        } else if (m.key == "stale-while-revalidate") {
            seconds(m, cc.stale_while_revalidate);
        } else if (m.key == "stale-if-error") {
            seconds(m, cc.stale_if_error);
        }
    }
    return cc;
}

} // namespace

std::optional<CacheControl> parse_targeted_cache_control(const HeaderList& headers,
                                                         std::span<const std::string> fields) {
    std::string joined;
    std::vector<sf::DictMember> members;
    for (const std::string& field : fields) {
        joined.clear();
        for (const Header& h : headers) {
            if (iequals(h.name, field) && !h.value.empty()) {
                joined.append(joined.empty() ? "" : ", ");
                joined.append(h.value);
            }
        }
        // RFC 9213 §2.2: the first field with a valid, non-empty value is the one used.
        if (!joined.empty() && sf::parse_dictionary(joined, members) && !members.empty()) {
            return directives(members);
        }
    }
    return std::nullopt;
}

} // namespace lacquer::http
