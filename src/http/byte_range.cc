// Range and If-Range (RFC 9110 §14, §13.1.5): one pass over the field value, no allocation.
#include "lacquer/http/byte_range.h"

#include "lacquer/http/cache_control.h"
#include "lacquer/http/head.h"

#include <limits>
#include <optional>

namespace lacquer::http {

namespace {

constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max();

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// 1*DIGIT; a value past 2^64 saturates (it is larger than any representation).
std::optional<std::uint64_t> digits(std::string_view s) {
    if (s.empty()) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        n = n > (kHuge - d) / 10 ? kHuge : n * 10 + d;
    }
    return n;
}

struct Spec {
    bool valid = false;
    bool satisfiable = false;
    bool suffix_of_nothing = false; // a non-zero suffix-length on a zero-length representation
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

// One range-spec (§14.1.1) against `length`.
Spec read_spec(std::string_view spec, std::uint64_t length) {
    Spec out;
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) {
        return out; // other-range is not a bytes range-spec
    }
    if (dash == 0) {
        const auto suffix = digits(spec.substr(1));
        if (!suffix) {
            return out;
        }
        out.valid = true;
        out.satisfiable = *suffix > 0 && length > 0;
        out.suffix_of_nothing = *suffix > 0 && length == 0;
        if (out.satisfiable) {
            out.first = *suffix >= length ? 0 : length - *suffix;
            out.last = length - 1;
        }
        return out;
    }
    const auto first = digits(spec.substr(0, dash));
    const std::string_view rest = spec.substr(dash + 1);
    const auto last = rest.empty() ? std::optional<std::uint64_t>(kHuge) : digits(rest);
    if (!first || !last || *last < *first) {
        return out; // §14.1.1: last-pos < first-pos makes the range-spec invalid
    }
    out.valid = true;
    out.satisfiable = *first < length;
    if (out.satisfiable) {
        out.first = *first;
        out.last = *last < length ? *last : length - 1;
    }
    return out;
}

bool is_strong_tag(std::string_view tag) {
    return tag.size() >= 2 && tag.front() == '"' && tag.back() == '"';
}

} // namespace

RangePlan plan_byte_range(std::string_view value, std::uint64_t length) {
    RangePlan plan;
    value = trim_ows(value);
    const std::size_t eq = value.find('=');
    if (eq == std::string_view::npos || !iequals(value.substr(0, eq), "bytes")) {
        return plan; // an unknown range unit is ignored (§14.2)
    }
    std::string_view set = value.substr(eq + 1);
    std::size_t specs = 0;
    std::size_t satisfiable = 0;
    Spec one;
    bool suffix_of_nothing = false;
    while (!set.empty() || specs == 0) {
        const std::size_t comma = set.find(',');
        const std::string_view element = trim_ows(set.substr(0, comma));
        set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
        if (element.empty()) {
            if (comma == std::string_view::npos && specs == 0) {
                return plan; // an empty range-set
            }
            continue; // empty list elements are allowed and ignored (RFC 9110 §5.6.1.2)
        }
        if (++specs > kMaxRangeSpecs) {
            return plan;
        }
        const Spec spec = read_spec(element, length);
        if (!spec.valid) {
            return plan; // an invalid ranges-specifier is ignored as a whole
        }
        suffix_of_nothing = suffix_of_nothing || spec.suffix_of_nothing;
        if (spec.satisfiable) {
            one = spec;
            ++satisfiable;
        }
    }
    if (satisfiable == 0) {
        // A zero-length representation has no byte to send: its suffix ranges are "satisfiable"
        // (§14.1.1) and answered whole, its int-ranges are not.
        plan.kind = suffix_of_nothing ? RangeKind::Whole : RangeKind::Unsatisfiable;
        return plan;
    }
    if (satisfiable == 1) {
        plan.kind = RangeKind::Single;
        plan.first = one.first;
        plan.last = one.last;
    }
    return plan; // several ranges: the whole representation (§14.2)
}

bool if_range_matches(std::string_view if_range, std::string_view etag,
                      std::string_view last_modified, std::int64_t date) {
    if_range = trim_ows(if_range);
    if (if_range.starts_with("W/") || if_range.starts_with("\"")) {
        // Strong comparison: both strong, the same opaque-tag (§8.8.3.2).
        return is_strong_tag(if_range) && is_strong_tag(etag) && if_range == etag;
    }
    const std::optional<std::int64_t> when = parse_http_date(if_range);
    const std::optional<std::int64_t> modified =
        last_modified.empty() ? std::nullopt : parse_http_date(last_modified);
    // A Last-Modified is a strong validator only if it is a second or more before Date
    // (§8.8.2.2): otherwise the date could name two versions.
    return when && modified && *when == *modified && date > 0 && *modified + 1 <= date;
}

} // namespace lacquer::http
