#pragma once
// Range requests (RFC 9110 §14): the `Range: bytes=` field planned against a representation of
// known length, and If-Range (§13.1.5). Pure functions of header values; bounded work on
// hostile input (one pass, at most kMaxRangeSpecs specs looked at).

#include <cstdint>
#include <string_view>

namespace lacquer::http {

// A range-set longer than this is not planned at all (the whole representation is sent): no
// client needs so many, and a server may ignore any Range (§14.2).
inline constexpr std::size_t kMaxRangeSpecs = 64;

enum class RangeKind : std::uint8_t {
    Whole,         // no Range, an invalid or unknown-unit one, or several ranges: send all (200)
    Single,        // one satisfiable range: 206 with Content-Range bytes first-last/length
    Unsatisfiable, // valid, but no range overlaps the representation: 416, bytes */length
};

struct RangePlan {
    RangeKind kind = RangeKind::Whole;
    std::uint64_t first = 0; // Single: the inclusive byte positions, first <= last < length
    std::uint64_t last = 0;
    std::uint64_t size() const { return last - first + 1; }
};

// The plan for a `Range` field value (`value`) against `length` bytes (§14.1.1, §14.1.2):
// first-pos "-" [last-pos] and "-" suffix-length specs, the unit case-insensitive. A range
// ending beyond the representation is cut at its end. Several satisfiable ranges are answered
// whole (§14.2 allows ignoring Range), one of them as Single; none of them is Unsatisfiable.
RangePlan plan_byte_range(std::string_view value, std::uint64_t length);

// If-Range (RFC 9110 §13.1.5): true when the range may be applied. An entity-tag matches only a
// strong `etag` equal to it (strong comparison); an HTTP-date matches only a `last_modified`
// equal to it that is a strong validator: at least a second before the response's `date`
// (unix seconds; 0 when the response has none, then the date never matches).
bool if_range_matches(std::string_view if_range, std::string_view etag,
                      std::string_view last_modified, std::int64_t date);

} // namespace lacquer::http
