#pragma once
// Variants: named request dimensions (locale, currency, region, ...) each with ordered sources
// and a closed set of values. A VariantSet is compiled once per config load and is immutable
// afterwards, so every worker reads it without locking. resolve() is pure and never allocates:
// it always answers an index into the variant's values, so the number of variants stays bounded.

#include "lacquer/cache/request_view.h"
#include "lacquer/config/config.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::cache {

// Values are indexed by one byte (the index also goes into BuiltKey::variant_values).
inline constexpr std::size_t kMaxVariantValues = 255;

struct Variant {
    struct Source {
        enum class Kind : std::uint8_t { Query, Cookie, Header };
        Kind kind = Kind::Header;
        std::string name; // param or cookie name (compared as written), or a header name
        // header:Accept-Language: the value is a list of language ranges matched with RFC 4647
        // lookup rather than compared whole.
        bool language_ranges = false;
    };

    std::string name;
    std::vector<Source> sources;     // tried in order
    std::vector<std::string> values; // the closed set, config order
    std::uint8_t default_index = 0;  // into values
    std::string forward_header;      // the origin receives the resolved value in this header
    // Length of each value's primary subtag (the bytes before the first '-', or all of it):
    // precomputed so that language matching does no scanning of the allowed values.
    std::vector<std::size_t> primary_lengths;

    std::string_view value(std::uint8_t index) const { return values[index]; }
};

class VariantSet {
public:
    // Throws std::invalid_argument on what the config loader is meant to have refused already:
    // a bad source, no values, more than kMaxVariantValues values, a default not in the values.
    explicit VariantSet(const std::vector<config::VariantConfig>& variants);

    // Variants are shared by address (KeyPolicy points into the set): moving keeps the
    // addresses, copying would not.
    VariantSet(const VariantSet&) = delete;
    VariantSet& operator=(const VariantSet&) = delete;
    VariantSet(VariantSet&&) = default;
    VariantSet& operator=(VariantSet&&) = default;

    // The variant with that exact name, or nullptr. Config time only (linear scan).
    const Variant* find(std::string_view name) const;
    std::size_t size() const { return variants_.size(); }
    const Variant& at(std::size_t index) const { return variants_.at(index); }

private:
    std::vector<Variant> variants_;
};

// The value the request selects, as an index into variant.values. Sources are tried in order;
// the first one that is present and names an allowed value wins (values compare
// case-insensitively); a present but unknown value falls through to the next source; when none
// decides, the default. Pure, allocation-free, safe on any thread and on any input.
std::uint8_t resolve(const Variant& variant, const RequestView& request);

} // namespace lacquer::cache
