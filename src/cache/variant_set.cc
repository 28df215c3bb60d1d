// VariantSet compilation (config time, may allocate and throw) and resolve() (request time:
// pure, allocation-free, total on any input).
#include "lacquer/cache/variant_set.h"

#include "lacquer/http/head.h"
#include "request_text.h"

#include <stdexcept>

namespace lacquer::cache {

namespace {

using detail::decodes_to;
using detail::find_value;

Variant::Source compile_source(const config::VariantConfig& config, std::string_view text) {
    const std::size_t colon = text.find(':');
    const std::string_view kind = text.substr(0, colon);
    const std::string_view name =
        colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    Variant::Source source;
    if (kind == "query") {
        source.kind = Variant::Source::Kind::Query;
    } else if (kind == "cookie") {
        source.kind = Variant::Source::Kind::Cookie;
    } else if (kind == "header") {
        source.kind = Variant::Source::Kind::Header;
        source.language_ranges = http::iequals(name, "Accept-Language");
    } else {
        throw std::invalid_argument("variant " + config.name + ": bad source " + std::string(text));
    }
    if (name.empty()) {
        throw std::invalid_argument("variant " + config.name + ": bad source " + std::string(text));
    }
    source.name = std::string(name);
    return source;
}

Variant compile_variant(const config::VariantConfig& config) {
    if (config.values.empty() || config.values.size() > kMaxVariantValues) {
        throw std::invalid_argument("variant " + config.name + ": needs 1 to " +
                                    std::to_string(kMaxVariantValues) + " values");
    }
    Variant variant;
    variant.name = config.name;
    variant.forward_header = config.forward_header;
    variant.values = config.values;
    for (const std::string& source : config.sources) {
        variant.sources.push_back(compile_source(config, source));
    }
    bool has_default = false;
    for (std::size_t i = 0; i < variant.values.size(); ++i) {
        const std::string& value = variant.values[i];
        variant.primary_lengths.push_back(
            std::string_view(value).substr(0, value.find('-')).size());
        if (value == config.default_value) {
            variant.default_index = static_cast<std::uint8_t>(i);
            has_default = true;
        }
    }
    if (!has_default) {
        throw std::invalid_argument("variant " + config.name + ": the default " +
                                    config.default_value + " is not one of the values");
    }
    return variant;
}

// query:NAME: the first param whose decoded name is NAME decides; its decoded value must be
// allowed, otherwise the source falls through.
std::optional<std::uint8_t> from_query(const Variant& variant, std::string_view name,
                                       std::string_view query) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = piece.find('=');
        if (!decodes_to(piece.substr(0, eq), name, false)) {
            continue;
        }
        if (eq == std::string_view::npos) {
            return std::nullopt;
        }
        const std::string_view raw = piece.substr(eq + 1);
        for (std::size_t i = 0; i < variant.values.size(); ++i) {
            if (decodes_to(raw, variant.values[i], true)) {
                return static_cast<std::uint8_t>(i);
            }
        }
        return std::nullopt;
    }
    return std::nullopt;
}

// cookie:NAME over every Cookie field line ("a=1; b=2"); the first cookie of that name decides.
std::optional<std::uint8_t> from_cookies(const Variant& variant, std::string_view name,
                                         const http::HeaderList& headers) {
    for (const http::Header& header : headers) {
        if (!http::iequals(header.name, "Cookie")) {
            continue;
        }
        std::string_view rest = header.value;
        while (!rest.empty()) {
            const std::size_t semicolon = rest.find(';');
            const std::string_view pair = detail::trim_ows(rest.substr(0, semicolon));
            rest = semicolon == std::string_view::npos ? std::string_view()
                                                       : rest.substr(semicolon + 1);
            const std::size_t eq = pair.find('=');
            if (eq == std::string_view::npos || detail::trim_ows(pair.substr(0, eq)) != name) {
                continue;
            }
            std::string_view value = detail::trim_ows(pair.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            return find_value(variant, value);
        }
    }
    return std::nullopt;
}

// header:NAME: the first field line of that name decides, its whole value compared.
std::optional<std::uint8_t> from_header(const Variant& variant, std::string_view name,
                                        const http::HeaderList& headers) {
    const http::Header* header = headers.find(name);
    if (header == nullptr) {
        return std::nullopt;
    }
    return find_value(variant, detail::trim_ows(header->value));
}

// header:Accept-Language: all field lines of that name form one list (RFC 9110 §5.3).
std::optional<std::uint8_t> from_language(const Variant& variant, std::string_view name,
                                          const http::HeaderList& headers) {
    detail::LanguageRanges ranges;
    for (const http::Header& header : headers) {
        if (http::iequals(header.name, name)) {
            ranges.add_field(header.value);
        }
    }
    return ranges.lookup(variant);
}

} // namespace

namespace detail {

bool decodes_to(std::string_view encoded, std::string_view plain, bool fold_case) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '%') {
            if (encoded.size() - i < 3) {
                return false;
            }
            const int high = hex_value(encoded[i + 1]);
            const int low = hex_value(encoded[i + 2]);
            if (high < 0 || low < 0) {
                return false;
            }
            c = static_cast<char>(high * 16 + low);
            i += 2;
        }
        if (at == plain.size()) {
            return false;
        }
        const char want = plain[at++];
        if (fold_case ? ascii_lower(c) != ascii_lower(want) : c != want) {
            return false;
        }
    }
    return at == plain.size();
}

std::optional<std::uint8_t> find_value(const Variant& variant, std::string_view text) {
    for (std::size_t i = 0; i < variant.values.size(); ++i) {
        if (http::iequals(variant.values[i], text)) {
            return static_cast<std::uint8_t>(i);
        }
    }
    return std::nullopt;
}

} // namespace detail

VariantSet::VariantSet(const std::vector<config::VariantConfig>& variants) {
    variants_.reserve(variants.size());
    for (const config::VariantConfig& config : variants) {
        variants_.push_back(compile_variant(config));
    }
}

const Variant* VariantSet::find(std::string_view name) const {
    for (const Variant& variant : variants_) {
        if (variant.name == name) {
            return &variant;
        }
    }
    return nullptr;
}

std::uint8_t resolve(const Variant& variant, const RequestView& request) {
    static const http::HeaderList kNoHeaders;
    const http::HeaderList& headers = request.headers != nullptr ? *request.headers : kNoHeaders;
    for (const Variant::Source& source : variant.sources) {
        std::optional<std::uint8_t> found;
        switch (source.kind) {
        case Variant::Source::Kind::Query:
            found = from_query(variant, source.name, request.query);
            break;
        case Variant::Source::Kind::Cookie:
            found = from_cookies(variant, source.name, headers);
            break;
        case Variant::Source::Kind::Header:
            found = source.language_ranges ? from_language(variant, source.name, headers)
                                           : from_header(variant, source.name, headers);
            break;
        }
        if (found) {
            return *found;
        }
    }
    return variant.default_index;
}

} // namespace lacquer::cache
