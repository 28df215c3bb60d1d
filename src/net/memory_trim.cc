#include "lacquer/net/memory_trim.h"

#include "lacquer/core/spare_blocks.h"
#include "lacquer/core/spare_strings.h"
#include "lacquer/net/event_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lacquer::net {

bool wave_over(const TrimWatch& watch) {
    const std::size_t closed = watch.peak > watch.connections ? watch.peak - watch.connections : 0;
    return (closed >= kTrimDrop && watch.connections <= watch.peak / 2) ||
           watch.freed_bytes >= kTrimFreedBytes;
}

bool quiet_with_memory(std::uint64_t turns, std::size_t cached, std::size_t freed) {
    return turns <= kQuietTurns && (cached > 0 || freed > 0);
}

std::size_t give_memory_back() {
    const std::size_t kept =
        core::release_spare_blocks() + core::release_spare_strings() + release_event_memory();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    return kept;
}

std::size_t cache_bytes_kept() {
    return core::kept_block_bytes() + core::kept_string_bytes() + kept_event_memory();
}

std::size_t cache_bytes_freed() {
    return core::block_bytes_freed() + event_memory_freed();
}

} // namespace lacquer::net
