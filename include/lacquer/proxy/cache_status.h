#pragma once
// The final state of a request: what the access log, the metrics and Cache-Status report.
// Names come from this one list.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace lacquer::proxy {

#define LACQUER_CACHE_STATUSES(X)                                                                  \
    X(Hit, "hit")                                                                                  \
    X(Miss, "miss")                                                                                \
    X(Stale, "stale")                                                                              \
    X(Revalidated, "revalidated") /* an expired object the origin confirmed with a 304 */          \
    X(Coalesced, "coalesced")                                                                      \
    X(Pass, "pass")                                                                                \
    X(HitForMiss, "hit_for_miss")                                                                  \
    X(Synth, "synth")                                                                              \
    X(Error, "error")

enum class CacheStatus : std::uint8_t {
#define LACQUER_AS_ENUM(name, text) name,
    LACQUER_CACHE_STATUSES(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};

inline std::string_view cache_status_name(CacheStatus status) {
    constexpr std::string_view kNames[] = {
#define LACQUER_AS_NAME(name, text) text,
        LACQUER_CACHE_STATUSES(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
    };
    static_assert(sizeof kNames / sizeof kNames[0] ==
                  static_cast<std::size_t>(CacheStatus::Error) + 1);
    return kNames[static_cast<std::size_t>(status)];
}

// The Cache-Status header field (RFC 9211) of one answer, e.g. "lacquer; hit",
// "lacquer; fwd=uri-miss; stored", "lacquer; hit; fwd=stale; fwd-status=503".
struct CacheStatusField {
    bool hit = false;
    std::string_view fwd;    // uri-miss, stale, bypass; empty: not forwarded
    int fwd_status = 0;      // 0: not given
    bool stored = false;     // the forwarded answer was stored
    std::string_view detail; // why it was not stored; empty: nothing to say
    bool collapsed = false;  // answered by another request's forward (coalesced)
};

// A hit; with `fwd_status`, a stale object served because the origin answered that (or failed
// as that status says).
inline CacheStatusField hit_status(int stale_fwd_status = 0) {
    CacheStatusField f;
    f.hit = true;
    if (stale_fwd_status != 0) {
        f.fwd = "stale";
        f.fwd_status = stale_fwd_status;
    }
    return f;
}

inline void append_cache_status(std::string& out, const CacheStatusField& f) {
    out.append("Cache-Status: lacquer");
    if (f.hit) {
        out.append("; hit");
    }
    if (!f.fwd.empty()) {
        out.append("; fwd=");
        out.append(f.fwd);
    }
    if (f.fwd_status != 0) {
        char buf[8];
        const auto r = std::to_chars(buf, buf + sizeof buf, f.fwd_status);
        out.append("; fwd-status=");
        out.append(buf, r.ptr);
    }
    if (f.stored) {
        out.append("; stored");
    } else if (!f.detail.empty()) {
        out.append("; detail=");
        out.append(f.detail);
    }
    if (f.collapsed) {
        out.append("; collapsed");
    }
    out.append("\r\n");
}

} // namespace lacquer::proxy
