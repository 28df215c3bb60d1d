// The `variants` section: named request dimensions with ordered sources, a closed set of
// values and a default, so that the number of stored variants per URL stays bounded.
#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "sections.h"

#include <algorithm>
#include <unordered_map>

namespace lacquer::config::detail {

namespace {

char ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Field names compare case-insensitively; this is the form they are compared in.
std::string folded(std::string_view name) {
    std::string out(name);
    std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
    return out;
}

// Forward header (folded) -> the variant that sends it.
using HeaderOwners = std::unordered_map<std::string, std::string>;

VariantConfig read_variant(const YamlMap::Entry& entry, HeaderOwners& header_owners) {
    const YamlMap map =
        YamlMap::with_keys(entry.value, {"sources", "values", "default", "forward_header"});
    VariantConfig variant;
    variant.name = entry.key;
    variant.mark = entry.key_mark;

    const YamlValue sources = map.require("sources");
    variant.sources = sources.as_string_set(check_variant_source);
    if (variant.sources.empty()) {
        sources.fail("at least one source is required");
    }

    // Values travel in a request header and in the cache key, so they are plain tokens.
    const YamlValue values = map.require("values");
    variant.values = values.as_string_set([](std::string_view text) {
        return is_token(text) ? "" : "expected a non-empty token (letters, digits, -._~ ...)";
    });
    if (variant.values.empty()) {
        values.fail("at least one value is required");
    }

    variant.default_value = variant.values.front();
    if (const std::optional<YamlValue> fallback = map.find("default")) {
        variant.default_value = fallback->as_string();
        if (std::find(variant.values.begin(), variant.values.end(), variant.default_value) ==
            variant.values.end()) {
            fallback->fail(quoted(variant.default_value) + " is not one of the values (" +
                           listed(variant.values) + ")");
        }
    }

    variant.forward_header = "X-Lacquer-" + variant.name;
    variant.forward_header[10] = ascii_upper(variant.forward_header[10]);
    const std::optional<YamlValue> header = map.find("forward_header");
    if (header) {
        variant.forward_header = header->as_string();
        if (!is_token(variant.forward_header)) {
            header->fail("expected an HTTP field name, got " + quoted(variant.forward_header));
        }
    }
    // Two dimensions in one header: the origin would see only one of them.
    const auto [owner, added] = header_owners.emplace(folded(variant.forward_header), variant.name);
    if (!added) {
        const std::string problem = variant.forward_header +
                                    " is already the forward_header of variant `" + owner->second +
                                    "`";
        if (header) {
            header->fail(problem);
        }
        throw ConfigError(entry.key_mark, "variants." + variant.name + ": " + problem);
    }
    return variant;
}

} // namespace

std::vector<VariantConfig> read_variants(const YamlValue& value) {
    const YamlMap map = YamlMap::with_any_keys(value);
    std::vector<VariantConfig> variants;
    HeaderOwners header_owners;
    for (const YamlMap::Entry& entry : map.entries()) {
        if (!is_name(entry.key)) {
            throw ConfigError(entry.key_mark,
                              "variants: " + quoted(entry.key) +
                                  " is not a valid variant name (1 to 64 letters, digits, '_', "
                                  "'-' or '.')");
        }
        variants.push_back(read_variant(entry, header_owners));
    }
    return variants;
}

} // namespace lacquer::config::detail
