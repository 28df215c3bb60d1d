#pragma once
// The request-target of a client request, read once: its form (RFC 9112 §3.2), its authority,
// and its path with dot-segments removed (RFC 3986 §5.2.4). Routing, the cache key and the
// upstream request all use what this returns, so no two of them can read one request apart.
// Pure; never allocates: a normalised path is written into a caller-owned buffer.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lacquer::http {

#define LACQUER_TARGET_OUTCOMES(X)                                                                 \
    X(Ok)        /* path, query and authority are set */                                           \
    X(Malformed) /* not origin-, absolute- or asterisk-form, a #fragment, a bad %-escape: 400 */   \
    X(TooLong)   /* the normalised path does not fit the buffer: 414 */

enum class TargetOutcome : std::uint8_t {
#define LACQUER_AS_ENUM(name) name,
    LACQUER_TARGET_OUTCOMES(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view target_outcome_name(TargetOutcome outcome);

struct PathRules {
    // Runs of '/' count as one ("//p/x" is "/p/x"), as nginx's merge_slashes.
    bool merge_slashes = true;
};

struct RequestTarget {
    std::string_view authority; // of an absolute-form target ("host[:port]"); else empty
    bool absolute_form = false;
    bool asterisk = false;  // "*" (OPTIONS only)
    std::string_view path;  // normalised; "/" when the target has none; "*" for asterisk-form
    std::string_view query; // as sent, without '?'; empty when none
    // What the origin receives: path, then '?' and the query when one was sent.
    std::string_view origin_form;
};

// Reads `target` (as the request line carried it). The path is normalised in this order:
// percent-escapes of unreserved characters are decoded and other escapes upper-cased (so %2e is
// '.', while %2F stays an encoded byte that never separates segments), runs of '/' are merged
// when the rules say so, then "." and ".." segments are removed (RFC 3986 §5.2.4; ".." never
// climbs above the root). The query is left as sent (the cache key normalises it for itself).
// When nothing changes, `path` and `origin_form` are views of `target`; otherwise they are
// written into `buffer`, which must hold target.size() bytes (the normalised origin-form is
// never longer than the target): TooLong when it does not.
[[nodiscard]] TargetOutcome read_request_target(std::string_view target, std::string_view method,
                                                const PathRules& rules, std::span<char> buffer,
                                                RequestTarget& out);

// The path alone, under the same rules (for purge requests and tests). `buffer` must hold at
// least path.size() bytes; the result may be a view of `path` itself.
[[nodiscard]] TargetOutcome normalise_path(std::string_view path, const PathRules& rules,
                                           std::span<char> buffer, std::string_view& out);

} // namespace lacquer::http
