// build_key(): one pass over path and query that writes the normalised upstream target and the
// canonical key into the connection's KeyBuffer. Params are normalised into the target area
// (used as scratch), sorted by index, written into the key, then copied back as the target's
// query, so two fixed areas suffice. Nothing here allocates; overflow answers TooLarge.
#include "lacquer/cache/cache_key.h"

#include "lacquer/core/assert.h"
#include "request_text.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <xxhash.h>

namespace lacquer::cache {

namespace {

using detail::escaped_byte;
using detail::is_unreserved;

constexpr std::string_view kHexDigits = "0123456789ABCDEF";

// Bytes that may not appear in a request-target (RFC 3986): escaped so that keys and targets are
// printable, single-line and unambiguous. In a path '?' is escaped too, or it would start a query.
constexpr bool must_escape(char c, bool in_path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F) {
        return true;
    }
    switch (c) {
    case '"':
    case '#':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
        return true;
    case '?':
        return in_path;
    default:
        return false;
    }
}

// Appends into fixed storage; on overflow it stops writing and remembers, so callers check once
// per step instead of per byte.
class Writer {
public:
    Writer(char* data, std::size_t capacity) : data_(data), capacity_(capacity) {}

    void put(char c) {
        if (size_ < capacity_) {
            data_[size_++] = c;
        } else {
            full_ = true;
        }
    }
    void put(std::string_view text) {
        if (text.empty()) {
            return; // memcpy from a null data() would be undefined even for 0 bytes
        }
        if (text.size() <= capacity_ - size_) {
            std::memcpy(data_ + size_, text.data(), text.size());
            size_ += text.size();
        } else {
            full_ = true;
        }
    }
    void put_escaped(char c) {
        const auto byte = static_cast<unsigned char>(c);
        put('%');
        put(kHexDigits[byte >> 4]);
        put(kHexDigits[byte & 0xF]);
    }
    void truncate(std::size_t size) { size_ = size; }

    std::size_t size() const { return size_; }
    bool full() const { return full_; }
    std::string_view view(std::size_t offset, std::size_t length) const {
        return {data_ + offset, length};
    }

private:
    char* data_;
    std::size_t capacity_;
    std::size_t size_ = 0;
    bool full_ = false;
};

// Percent-encoding normalisation: escapes of unreserved bytes decoded, other escapes upper-cased,
// bytes that may not appear raw escaped. False on an invalid escape ("%", "%G1", "%1").
// Idempotent: its output normalises to itself.
bool put_normalised(Writer& out, std::string_view text, bool in_path) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int byte = escaped_byte(text, i);
            if (byte < 0) {
                return false;
            }
            const auto decoded = static_cast<char>(byte);
            if (is_unreserved(decoded)) {
                out.put(decoded);
            } else {
                out.put_escaped(decoded);
            }
            i += 2;
        } else if (must_escape(c, in_path)) {
            out.put_escaped(c);
        } else {
            out.put(c);
        }
    }
    return true;
}

bool is_visible_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7F;
    });
}

} // namespace

std::string_view key_outcome_name(KeyOutcome outcome) {
    static constexpr std::string_view kNames[] = {
#define LACQUER_AS_NAME(name) #name,
        LACQUER_KEY_OUTCOMES(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
    };
    const auto index = static_cast<std::size_t>(outcome);
    return index < std::size(kNames) ? kNames[index] : std::string_view("?");
}

bool KeyPolicy::allows(std::string_view name) const {
    const auto found = std::lower_bound(params.begin(), params.end(), name,
                                        [](const std::string& item, std::string_view wanted) {
                                            return std::string_view(item) < wanted;
                                        });
    return found != params.end() && *found == name;
}

KeyFields key_fields(std::string_view canonical) {
    std::array<std::string_view, 4> lines{};
    for (std::string_view& line : lines) {
        const std::size_t end = canonical.find('\n');
        if (end == std::string_view::npos) {
            return {};
        }
        line = canonical.substr(0, end);
        canonical.remove_prefix(end + 1);
    }
    return {lines[0], lines[1], lines[2], lines[3]};
}

KeyPolicy compile_key_policy(const config::CachePolicyConfig& cache, const VariantSet& variants) {
    KeyPolicy policy;
    policy.all_params = cache.all_params;
    policy.unknown_params = cache.unknown_params;
    for (const std::string& name : cache.key_params) {
        // Compared with request names after the same normalisation, so `sort%5Fon` in a request
        // finds `sort_on` in the config.
        std::string normalised(name.size() * 3, '\0');
        Writer out(normalised.data(), normalised.size());
        if (put_normalised(out, name, false)) {
            normalised.resize(out.size());
        } else {
            normalised = name; // matches nothing: such a request name is BadEncoding
        }
        policy.params.push_back(std::move(normalised));
    }
    std::sort(policy.params.begin(), policy.params.end());
    policy.params.erase(std::unique(policy.params.begin(), policy.params.end()),
                        policy.params.end());

    if (cache.variants.size() > kMaxKeyVariants) {
        throw std::invalid_argument("a route may use at most " + std::to_string(kMaxKeyVariants) +
                                    " variants");
    }
    for (const std::string& name : cache.variants) {
        const Variant* variant = variants.find(name);
        if (variant == nullptr) {
            throw std::invalid_argument("unknown variant " + name);
        }
        policy.variants.push_back(variant);
    }
    return policy;
}

KeyBuffer::KeyBuffer(std::size_t max_uri_bytes)
    : key_capacity_(2 * max_uri_bytes + 1024), target_capacity_(max_uri_bytes + 1024) {
    // ParamSlot offsets are 32-bit.
    LACQUER_ASSERT(target_capacity_ < std::numeric_limits<std::uint32_t>::max());
}

KeyBuffer::ParamSlot* KeyBuffer::take_storage() {
    static_assert(alignof(ParamSlot) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (!storage_) {
        storage_ = core::make_block(kParamBytes + key_capacity_ + target_capacity_);
    }
    // Slots are only read after build_key() wrote them.
    return reinterpret_cast<ParamSlot*>(storage_.get());
}

KeyOutcome build_key(const KeyPolicy& policy, std::string_view method, const RequestView& request,
                     KeyBuffer& buffer, BuiltKey& out) {
    LACQUER_ASSERT(policy.variants.size() <= kMaxKeyVariants);
    out = BuiltKey{};
    if (!is_visible_ascii(request.host)) {
        return KeyOutcome::BadEncoding;
    }

    KeyBuffer::ParamSlot* const params = buffer.take_storage();
    Writer target(buffer.target_area(), buffer.target_capacity_);
    if (!put_normalised(target, request.path.empty() ? "/" : request.path, true)) {
        return KeyOutcome::BadEncoding;
    }
    if (target.full()) {
        return KeyOutcome::TooLarge;
    }
    const std::size_t path_size = target.size();
    target.put('?');

    // Normalise every param into the target area after "path?" (scratch until the sort). All
    // of them are checked, so that BadEncoding and TooLarge win over Reject and Pass whatever
    // the param order.
    std::size_t count = 0;
    bool unknown = false;
    std::uint32_t order = 0;
    std::string_view query = request.query;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (piece.empty()) {
            continue;
        }
        if (order == kMaxKeyParams) {
            return KeyOutcome::TooLarge;
        }
        ++order;
        const std::size_t start = target.size();
        const std::size_t eq = piece.find('=');
        if (!put_normalised(target, piece.substr(0, eq), false)) {
            return KeyOutcome::BadEncoding;
        }
        const std::size_t name_length = target.size() - start;
        if (eq != std::string_view::npos) {
            // "a" and "a=" are different requests to the origin, so both stay as sent.
            target.put('=');
            if (!put_normalised(target, piece.substr(eq + 1), false)) {
                return KeyOutcome::BadEncoding;
            }
        }
        if (target.full()) {
            return KeyOutcome::TooLarge;
        }
        if (!policy.all_params && !policy.allows(target.view(start, name_length))) {
            unknown = true;
            target.truncate(start);
            continue;
        }
        params[count++] = KeyBuffer::ParamSlot{
            static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(name_length),
            static_cast<std::uint32_t>(target.size() - start), order};
    }

    if (unknown && policy.unknown_params == config::UnknownParams::Reject) {
        return KeyOutcome::RejectParams;
    }
    if (unknown && policy.unknown_params == config::UnknownParams::Pass) {
        // Not cached, so the origin may see the query as sent; only the path is normalised.
        target.truncate(path_size);
        if (!request.query.empty()) {
            target.put('?');
            target.put(request.query);
        }
        if (target.full()) {
            return KeyOutcome::TooLarge;
        }
        out.upstream_target = target.view(0, target.size());
        return KeyOutcome::PassParams;
    }

    // Byte order of the normalised name; equal names keep the order they were sent in.
    const auto name_of = [&target](const KeyBuffer::ParamSlot& slot) {
        return target.view(slot.offset, slot.name_length);
    };
    std::sort(params, params + count,
              [&name_of](const KeyBuffer::ParamSlot& a, const KeyBuffer::ParamSlot& b) {
                  const int compared = name_of(a).compare(name_of(b));
                  return compared != 0 ? compared < 0 : a.order < b.order;
              });

    Writer key(buffer.key_area(), buffer.key_capacity_);
    if (method == "GET" || method == "HEAD") {
        key.put('G');
    } else {
        // Not cached by the caller, but still a distinct class; escaped so that no method
        // (llhttp only passes tokens, but build_key is total) can forge the key's line layout.
        key.put('M');
        for (const char c : method) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte <= 0x20 || byte >= 0x7F || c == '%') {
                key.put_escaped(c);
            } else {
                key.put(c);
            }
        }
    }
    key.put('\n');
    for (const char c : request.host) {
        key.put(detail::ascii_lower(c));
    }
    key.put('\n');
    key.put(target.view(0, path_size));
    key.put('\n');
    const std::size_t params_start = key.size();
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) {
            key.put('&');
        }
        const KeyBuffer::ParamSlot& slot = params[i];
        key.put(target.view(slot.offset, slot.length));
    }
    const std::size_t params_size = key.size() - params_start;
    key.put('\n');
    const std::size_t url_size = key.size();
    for (std::size_t i = 0; i < policy.variants.size(); ++i) {
        const Variant& variant = *policy.variants[i];
        const std::uint8_t value = resolve(variant, request);
        out.variant_values[i] = value;
        key.put(variant.name);
        key.put('=');
        key.put(variant.value(value));
        key.put('\n');
    }
    if (key.full()) {
        out = BuiltKey{};
        return KeyOutcome::TooLarge;
    }

    // The scratch is no longer needed: the sorted params now live in the key.
    target.truncate(path_size);
    if (count > 0) {
        target.put('?');
        target.put(key.view(params_start, params_size));
    }
    if (target.full()) {
        out = BuiltKey{};
        return KeyOutcome::TooLarge;
    }

    out.canonical = key.view(0, key.size());
    out.hash = XXH3_64bits(out.canonical.data(), out.canonical.size());
    out.url = key.view(0, url_size);
    out.url_hash = XXH3_64bits(out.url.data(), out.url.size());
    out.upstream_target = target.view(0, target.size());
    out.variant_count = policy.variants.size();
    return KeyOutcome::Ok;
}

} // namespace lacquer::cache
