#pragma once
// The cache key of a request and the request-target the origin receives, built together so that
// the origin only ever sees what the key says (unkeyed params are stripped, never forwarded).
// KeyPolicy is compiled per route at config load and is immutable; build_key() is pure, writes
// into a caller-owned KeyBuffer and never allocates (the buffer's storage is a spare block,
// core/spare_blocks.h). One KeyBuffer per connection (or request).

#include "lacquer/cache/request_view.h"
#include "lacquer/cache/variant_set.h"
#include "lacquer/config/config.h"
#include "lacquer/core/spare_blocks.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::cache {

inline constexpr std::size_t kMaxKeyParams = 256;  // more query params -> TooLarge
inline constexpr std::size_t kMaxKeyVariants = 16; // per route

// What a route puts into its keys. Built once per route at config load.
struct KeyPolicy {
    bool all_params = false;
    // Allow-list, percent-encoding normalised like request params, sorted, unique.
    std::vector<std::string> params;
    config::UnknownParams unknown_params = config::UnknownParams::Strip;
    // The route's variants, in config order; they point into the VariantSet the policy was
    // compiled with, which must outlive the policy.
    std::vector<const Variant*> variants;

    // True when a param with this (normalised) name is part of the key.
    bool allows(std::string_view name) const;
};

// Throws std::invalid_argument when a variant name is not in `variants` or when the route has
// more than kMaxKeyVariants variants (config time only).
KeyPolicy compile_key_policy(const config::CachePolicyConfig& cache, const VariantSet& variants);

#define LACQUER_KEY_OUTCOMES(X)                                                                    \
    X(Ok)           /* canonical, hash and upstream_target are set */                              \
    X(RejectParams) /* unknown params and `unknown_params: reject`: answer 400 */                  \
    X(PassParams)   /* unknown params and `unknown_params: pass`: forward, do not cache */         \
    X(BadEncoding)  /* invalid %-escape, or a Host byte outside visible ASCII: answer 400 */       \
    X(TooLarge)     /* more than kMaxKeyParams params, or the KeyBuffer is full: answer 414 */

enum class KeyOutcome : std::uint8_t {
#define LACQUER_AS_ENUM(name) name,
    LACQUER_KEY_OUTCOMES(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view key_outcome_name(KeyOutcome outcome);

// Views into the KeyBuffer, valid until its next build_key().
struct BuiltKey {
    std::string_view canonical; // Ok only; empty otherwise
    std::uint64_t hash = 0;     // XXH3-64 of canonical; Ok only
    // The canonical bytes up to the variants (method class, host, path, params): what every
    // variant of one URL shares, for invalidation and purge. Ok only.
    std::string_view url;
    std::uint64_t url_hash = 0;       // XXH3-64 of url
    std::string_view upstream_target; // Ok: path?kept-params; PassParams: path?original-query
    std::array<std::uint8_t, kMaxKeyVariants> variant_values{}; // per policy variant, Ok only
    std::size_t variant_count = 0;
};

class KeyBuffer;

// The lines of a canonical key (see build_key), for purge and ban; empty views when malformed.
struct KeyFields {
    std::string_view method_class; // "G" for GET and HEAD
    std::string_view host;         // lower case
    std::string_view path;
    std::string_view params; // sorted, normalised, without '?'
};
KeyFields key_fields(std::string_view canonical);

// Builds the key of one request under `policy`. The canonical bytes are
//   <method class>\n<host>\n<path>\n<params>\n then <variant name>=<value>\n per variant,
// with GET and HEAD sharing the class "G", the host lower-cased, path and params with
// normalised percent-encoding (unreserved escapes decoded, other hex upper-cased, bytes that
// may not appear in a URI escaped), params filtered by the allow-list and stably sorted by name.
// Keys name their variants rather than number them, so they stay meaningful across reloads.
// Pure; never allocates; `out` is rewritten whatever the outcome.
[[nodiscard]] KeyOutcome build_key(const KeyPolicy& policy, std::string_view method,
                                   const RequestView& request, KeyBuffer& buffer, BuiltKey& out);

// Fixed storage for build_key(): a spare block taken by the first build_key() and kept, for every
// request of a connection, until release() (an idle connection holds none).
class KeyBuffer {
public:
    // Room for a request-target of max_uri_bytes plus slack for escapes, and for a key holding
    // that target, the host and the variants. Anything longer is TooLarge, never a reallocation.
    // Takes no memory yet.
    explicit KeyBuffer(std::size_t max_uri_bytes);

    std::size_t key_capacity() const { return key_capacity_; }
    std::size_t target_capacity() const { return target_capacity_; }
    // Gives the storage back to the thread's spares: the keys built so far are gone.
    void release() { storage_.reset(); }
    bool holds_memory() const { return storage_ != nullptr; }

private:
    friend KeyOutcome build_key(const KeyPolicy&, std::string_view, const RequestView&, KeyBuffer&,
                                BuiltKey&);

    // One normalised query param, "name" or "name=value", stored in the target area.
    struct ParamSlot {
        std::uint32_t offset = 0;
        std::uint32_t name_length = 0;
        std::uint32_t length = 0;
        std::uint32_t order = 0; // position in the query: ties keep it (stable sort)
    };

    // Takes the storage if it is not held; returns the param slots.
    ParamSlot* take_storage();
    char* key_area() const { return storage_.get() + kParamBytes; }
    char* target_area() const { return storage_.get() + kParamBytes + key_capacity_; }

    static constexpr std::size_t kParamBytes = kMaxKeyParams * sizeof(ParamSlot);
    std::size_t key_capacity_;
    std::size_t target_capacity_;
    core::Block storage_; // kMaxKeyParams param slots, the key area, then the target area
};

} // namespace lacquer::cache
