// libFuzzer target: request parts + a route spec -> build_key. Beyond "no crash": an Ok key
// rebuilt from its own upstream target is identical (normalising twice changes nothing), params
// outside the allow-list appear neither in the key nor in the upstream target, the target is
// printable ASCII, and a full buffer answers TooLarge instead of writing past it.
//
// Input: byte 0 picks the route (unknown_params, key_params: all, variants, buffer size); the
// rest is split on 0x01 into host, path, query, Accept-Language, Cookie, X-Currency, method.
#include "lacquer/cache/cache_key.h"

#include "lacquer/core/assert.h"
#include "lacquer/http/head.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <xxhash.h>

namespace {

using namespace lacquer;
using namespace lacquer::cache;

config::VariantConfig variant_config(std::string name, std::vector<std::string> sources,
                                     std::vector<std::string> values) {
    config::VariantConfig variant;
    variant.name = std::move(name);
    variant.sources = std::move(sources);
    variant.default_value = values.front();
    variant.values = std::move(values);
    return variant;
}

struct Routes {
    VariantSet variants{std::vector<config::VariantConfig>{
        variant_config("locale", {"query:locale", "cookie:locale", "header:Accept-Language"},
                       {"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"}),
        variant_config("currency", {"query:currency", "cookie:currency", "header:X-Currency"},
                       {"USD", "EUR", "GBP", "JPY"})}};
    std::array<KeyPolicy, 12> policies;
    KeyBuffer small{32};
    KeyBuffer large{8 * 1024};

    Routes() {
        for (std::size_t i = 0; i < policies.size(); ++i) {
            config::CachePolicyConfig cache;
            cache.unknown_params = static_cast<config::UnknownParams>(i % 3);
            cache.all_params = (i / 3) % 2 == 1;
            cache.key_params = {"a", "b", "limit", "sort_on", "%7ex", "%2f", "caf\xC3\xA9"};
            if (i / 6 == 1) {
                cache.variants = {"locale", "currency"};
            }
            policies[i] = compile_key_policy(cache, variants);
        }
    }
};

std::string_view next_field(std::string_view& rest) {
    const std::size_t cut = rest.find('\x01');
    const std::string_view field = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    return field;
}

// Calls fn(name) for every param of a normalised query.
template <typename Fn> void for_each_param_name(std::string_view query, Fn&& fn) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        LACQUER_ASSERT(!piece.empty());
        fn(piece.substr(0, piece.find('=')));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Routes routes;
    if (size == 0) {
        return 0;
    }
    const std::uint8_t spec = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const KeyPolicy& policy = routes.policies[spec % routes.policies.size()];
    KeyBuffer& buffer = (spec & 0x80) != 0 ? routes.small : routes.large;

    const std::string_view host = next_field(rest);
    const std::string_view path = next_field(rest);
    const std::string_view query = next_field(rest);
    http::HeaderList headers;
    headers.items[headers.count++] = {"Accept-Language", next_field(rest)};
    headers.items[headers.count++] = {"Cookie", next_field(rest)};
    headers.items[headers.count++] = {"X-Currency", next_field(rest)};
    const std::string_view method = (spec & 0x40) != 0 ? next_field(rest) : "GET";

    BuiltKey key;
    const RequestView request{host, path, query, &headers};
    const KeyOutcome outcome = build_key(policy, method, request, buffer, key);
    LACQUER_ASSERT(key.canonical.size() <= buffer.key_capacity());
    LACQUER_ASSERT(key.upstream_target.size() <= buffer.target_capacity());
    if (outcome == KeyOutcome::PassParams) {
        LACQUER_ASSERT(policy.unknown_params == config::UnknownParams::Pass);
        LACQUER_ASSERT(key.canonical.empty() && !key.upstream_target.empty());
    }
    if (outcome == KeyOutcome::RejectParams) {
        LACQUER_ASSERT(policy.unknown_params == config::UnknownParams::Reject);
    }
    if (outcome != KeyOutcome::Ok) {
        if (outcome != KeyOutcome::PassParams) {
            LACQUER_ASSERT(key.canonical.empty() && key.upstream_target.empty());
        }
        return 0;
    }

    LACQUER_ASSERT(key.hash == XXH3_64bits(key.canonical.data(), key.canonical.size()));
    LACQUER_ASSERT(key.variant_count == policy.variants.size());
    for (std::size_t i = 0; i < key.variant_count; ++i) {
        LACQUER_ASSERT(key.variant_values[i] < policy.variants[i]->values.size());
    }
    for (const char c : key.upstream_target) {
        const auto byte = static_cast<unsigned char>(c);
        LACQUER_ASSERT(byte > 0x20 && byte < 0x7F);
    }

    const std::string_view target = key.upstream_target;
    const std::size_t question = target.find('?');
    const std::string_view target_query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    LACQUER_ASSERT(question == std::string_view::npos || !target_query.empty());
    if (!policy.all_params) {
        for_each_param_name(target_query, [&policy](std::string_view name) {
            LACQUER_ASSERT(policy.allows(name));
        });
    }
    // The key's params line is exactly what the origin receives.
    std::string_view lines = key.canonical;
    for (int i = 0; i < 3; ++i) {
        const std::size_t newline = lines.find('\n');
        LACQUER_ASSERT(newline != std::string_view::npos);
        lines.remove_prefix(newline + 1);
    }
    LACQUER_ASSERT(lines.substr(0, lines.find('\n')) == target_query);
    const std::size_t variants_at = key.canonical.size() - lines.size() + target_query.size() + 1;

    // Normalising twice changes nothing.
    const std::string canonical(key.canonical);
    const std::string first_target(target);
    const std::string again_path(target.substr(0, question));
    const std::string again_query(target_query);
    BuiltKey again;
    const KeyOutcome second = build_key(
        policy, method, RequestView{host, again_path, again_query, &headers}, buffer, again);
    LACQUER_ASSERT(second == KeyOutcome::Ok);
    LACQUER_ASSERT(again.upstream_target == first_target);
    // Variant lines may come from query params that the target no longer carries (the origin
    // gets the resolved value in a header instead), so only the request part must match then.
    if (policy.variants.empty()) {
        LACQUER_ASSERT(again.canonical == canonical);
        LACQUER_ASSERT(again.hash == key.hash);
    } else {
        LACQUER_ASSERT(again.canonical.substr(0, variants_at) ==
                       std::string_view(canonical).substr(0, variants_at));
    }
    return 0;
}
