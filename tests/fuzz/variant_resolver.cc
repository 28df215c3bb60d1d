// libFuzzer target: Accept-Language, cookie, query and header values -> resolve(). Beyond "no
// crash": the answer is always an index inside the closed set, resolving is deterministic, and
// parsed language ranges stay bounded, weighted 1..1000 and in priority order.
//
// Input: split on 0x01 into query, Accept-Language, Cookie, X-Currency, X-Region, then any
// number of further Accept-Language / Cookie field lines (alternating).
#include "cache/request_text.h"
#include "lacquer/cache/variant_set.h"
#include "lacquer/core/assert.h"
#include "lacquer/http/head.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer;
using namespace lacquer::cache;

config::VariantConfig variant_config(std::string name, std::vector<std::string> sources,
                                     std::vector<std::string> values, std::size_t fallback) {
    config::VariantConfig variant;
    variant.name = std::move(name);
    variant.sources = std::move(sources);
    variant.default_value = values.at(fallback);
    variant.values = std::move(values);
    return variant;
}

std::vector<config::VariantConfig> fuzz_variants() {
    std::vector<std::string> many;
    for (int i = 0; i < 255; ++i) {
        many.push_back((i % 2 == 0 ? "x" : "x-") + std::to_string(i));
    }
    return {
        variant_config("locale", {"query:locale", "cookie:locale", "header:Accept-Language"},
                       {"en-US", "en-GB", "de-DE", "de", "fr-FR", "ja-JP", "zh-Hant", "zh"}, 0),
        variant_config("currency", {"query:currency", "cookie:currency", "header:X-Currency"},
                       {"USD", "EUR", "GBP", "JPY"}, 1),
        variant_config("region", {"header:X-Region", "cookie:region"}, {"US", "EU", "APAC"}, 2),
        variant_config("many", {"cookie:m", "header:accept-language", "query:m"}, many, 254),
    };
}

std::string_view next_field(std::string_view& rest) {
    const std::size_t cut = rest.find('\x01');
    const std::string_view field = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    return field;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const VariantSet set(fuzz_variants());
    std::string_view rest(reinterpret_cast<const char*>(data), size);

    const std::string_view query = next_field(rest);
    http::HeaderList headers;
    headers.items[headers.count++] = {"Accept-Language", next_field(rest)};
    headers.items[headers.count++] = {"Cookie", next_field(rest)};
    headers.items[headers.count++] = {"X-Currency", next_field(rest)};
    headers.items[headers.count++] = {"X-Region", next_field(rest)};
    while (!rest.empty() && headers.count < http::kMaxHeaders) {
        const char* name = headers.count % 2 == 0 ? "accept-language" : "COOKIE";
        headers.items[headers.count++] = {name, next_field(rest)};
    }

    const RequestView request{"h", "/", query, &headers};
    for (std::size_t i = 0; i < set.size(); ++i) {
        const Variant& variant = set.at(i);
        const std::uint8_t index = resolve(variant, request);
        LACQUER_ASSERT(index < variant.values.size());
        LACQUER_ASSERT(resolve(variant, request) == index);
    }

    for (const http::Header& header : headers) {
        detail::LanguageRanges ranges;
        ranges.add_field(header.value);
        LACQUER_ASSERT(ranges.size() <= detail::LanguageRanges::kCapacity);
        for (std::size_t i = 0; i < ranges.size(); ++i) {
            LACQUER_ASSERT(ranges[i].q >= 1 && ranges[i].q <= 1000);
            LACQUER_ASSERT(!ranges[i].tag.empty() && ranges[i].tag != "*");
            LACQUER_ASSERT(i == 0 || ranges[i - 1].q >= ranges[i].q);
        }
        if (const auto found = ranges.lookup(set.at(0))) {
            LACQUER_ASSERT(*found < set.at(0).values.size());
        }
    }
    return 0;
}
