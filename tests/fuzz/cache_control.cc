// libFuzzer target: Cache-Control field values -> parse_cache_control, and dates ->
// parse_http_date / format_http_date. Beyond "no crash":
// - every delta is in 0..2^31 (RFC 9111 §1.2.2), and parsing is deterministic;
// - the list rule: one field "a, b" reads as the two fields "a" and "b" (values without quotes);
// - directive names are case-insensitive: the value upper-cased reads the same;
// - the first occurrence wins: more fields after the others never change a directive already
//   seen, and only add ones not yet seen;
// - a parsed date formats as a 29-byte IMF-fixdate that parses back to the same second.
//
// Input: split on 0x01 into Cache-Control values (up to 16); the last piece is also a date.
#include "lacquer/http/cache_control.h"

#include "lacquer/core/assert.h"
#include "lacquer/http/head.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer;
using namespace lacquer::http;

constexpr std::int64_t kMaxDelta = 2147483648LL;
constexpr std::size_t kMaxFields = 16;

CacheControl parse(const std::vector<std::string>& values) {
    HeaderList headers;
    for (const std::string& v : values) {
        headers.items[headers.count++] = Header{"Cache-Control", v};
    }
    // Unrelated fields around them change nothing.
    headers.items[headers.count++] = Header{"Cache-Controls", "no-store, max-age=1"};
    return parse_cache_control(headers);
}

bool same(const CacheControl& a, const CacheControl& b) {
    return a.no_store == b.no_store && a.no_cache == b.no_cache && a.is_private == b.is_private &&
           a.is_public == b.is_public && a.must_revalidate == b.must_revalidate &&
           a.max_age == b.max_age && a.s_maxage == b.s_maxage &&
           a.stale_while_revalidate == b.stale_while_revalidate &&
           a.stale_if_error == b.stale_if_error;
}

void check_delta(const std::optional<std::int64_t>& d) {
    LACQUER_ASSERT(!d || (*d >= 0 && *d <= kMaxDelta));
}

// `later` parsed more fields after those of `first`.
void check_first_wins(const CacheControl& first, const CacheControl& later) {
    const auto kept = [](const std::optional<std::int64_t>& a,
                         const std::optional<std::int64_t>& b) { return !a || a == b; };
    LACQUER_ASSERT(kept(first.max_age, later.max_age));
    LACQUER_ASSERT(kept(first.s_maxage, later.s_maxage));
    LACQUER_ASSERT(kept(first.stale_while_revalidate, later.stale_while_revalidate));
    LACQUER_ASSERT(kept(first.stale_if_error, later.stale_if_error));
    LACQUER_ASSERT(!first.no_store || later.no_store);
    LACQUER_ASSERT(!first.no_cache || later.no_cache);
    LACQUER_ASSERT(!first.is_private || later.is_private);
    LACQUER_ASSERT(!first.is_public || later.is_public);
    LACQUER_ASSERT(!first.must_revalidate || later.must_revalidate);
}

void check_date(std::string_view text) {
    const std::optional<std::int64_t> t = parse_http_date(text);
    if (!t) {
        return;
    }
    char out[32];
    LACQUER_ASSERT(format_http_date(*t, out) == 29);
    const std::string_view formatted(out, 29);
    LACQUER_ASSERT(formatted.substr(25) == " GMT" && formatted[3] == ',');
    LACQUER_ASSERT(parse_http_date(formatted) == t);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> values;
    std::size_t start = 0;
    while (values.size() < kMaxFields) {
        const std::size_t end = input.find('\x01', start);
        values.emplace_back(input.substr(start, end - start));
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    check_date(values.back());

    const CacheControl cc = parse(values);
    LACQUER_ASSERT(same(cc, parse(values)));
    for (const auto* d :
         {&cc.max_age, &cc.s_maxage, &cc.stale_while_revalidate, &cc.stale_if_error}) {
        check_delta(*d);
    }

    // First occurrence wins, field by field.
    for (std::size_t n = 1; n < values.size(); ++n) {
        const std::vector<std::string> head(values.begin(), values.begin() + static_cast<long>(n));
        check_first_wins(parse(head), cc);
    }

    const bool quoted = std::any_of(values.begin(), values.end(),
                                    [](const std::string& v) { return v.find('"') != v.npos; });
    if (!quoted) {
        // The list rule: every element as a field of its own.
        std::size_t elements = 0;
        for (const std::string& v : values) {
            elements += static_cast<std::size_t>(std::count(v.begin(), v.end(), ',')) + 1;
        }
        if (elements + 1 < kMaxHeaders) {
            std::vector<std::string> split;
            for (const std::string& v : values) {
                std::size_t from = 0;
                for (std::size_t comma = v.find(',');; comma = v.find(',', from)) {
                    split.push_back(v.substr(from, comma - from));
                    if (comma == std::string::npos) {
                        break;
                    }
                    from = comma + 1;
                }
            }
            LACQUER_ASSERT(same(cc, parse(split)));
        }
        std::vector<std::string> upper = values;
        for (std::string& v : upper) {
            std::transform(v.begin(), v.end(), v.begin(), [](char c) {
                return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            });
        }
        LACQUER_ASSERT(same(cc, parse(upper)));
    }
    return 0;
}
