#pragma once
// The variants of CONFIG.md as config structs, shared by the key and variant tests.

#include "lacquer/config/config.h"

#include <string>
#include <utility>
#include <vector>

namespace lacquer::cache::fixtures {

inline config::VariantConfig variant_config(std::string name, std::vector<std::string> sources,
                                            std::vector<std::string> values, std::string fallback) {
    config::VariantConfig variant;
    variant.name = std::move(name);
    variant.sources = std::move(sources);
    variant.values = std::move(values);
    variant.default_value = std::move(fallback);
    variant.forward_header = "X-Lacquer-" + variant.name;
    return variant;
}

// The `variants` section of CONFIG.md.
inline std::vector<config::VariantConfig> example_variants() {
    return {
        variant_config("locale", {"query:locale", "cookie:locale", "header:Accept-Language"},
                       {"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"}, "en-US"),
        variant_config("currency", {"query:currency", "cookie:currency", "header:X-Currency"},
                       {"USD", "EUR", "GBP", "JPY"}, "USD"),
        variant_config("region", {"header:X-Region", "cookie:region"}, {"US", "EU", "APAC"}, "US"),
    };
}

} // namespace lacquer::cache::fixtures
