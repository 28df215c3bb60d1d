#pragma once
// The final state of a request: what the access log, the metrics and Cache-Status report.
// Names come from this one list.

#include <cstdint>
#include <string_view>

namespace lacquer::proxy {

#define LACQUER_CACHE_STATUSES(X)                                                                  \
    X(Hit, "hit")                                                                                  \
    X(Miss, "miss")                                                                                \
    X(Stale, "stale")                                                                              \
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
    static_assert(sizeof kNames / sizeof kNames[0] == static_cast<std::size_t>(CacheStatus::Error) + 1);
    return kNames[static_cast<std::size_t>(status)];
}

} // namespace lacquer::proxy
