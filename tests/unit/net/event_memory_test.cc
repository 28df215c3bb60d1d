// libevent's memory goes through per-thread block caches: a buffer that is filled and emptied
// again and again reuses its blocks instead of asking malloc each time.
#include "lacquer/net/event_memory.h"
#include "lacquer/net/worker.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::net {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCaching = false; // sanitizer builds keep plain malloc on purpose
#else
constexpr bool kCaching = true;
#endif

TEST(EventMemory, EmptiedBuffersReuseTheirBlocks) {
    Worker worker(0); // installs the caches before libevent allocates anything
    const std::string data(3000, 'x');
    const std::uint64_t before = event_memory_reuses();
    for (int i = 0; i < 100; ++i) {
        evbuffer* buffer = evbuffer_new();
        ASSERT_NE(buffer, nullptr);
        ASSERT_EQ(evbuffer_add(buffer, data.data(), data.size()), 0);
        ASSERT_EQ(evbuffer_get_length(buffer), data.size());
        std::string back(data.size(), '\0');
        ASSERT_EQ(evbuffer_remove(buffer, back.data(), back.size()), static_cast<int>(back.size()));
        EXPECT_EQ(back, data); // blocks come back intact, whatever class they are taken from
        evbuffer_free(buffer);
    }
    const std::uint64_t reused = event_memory_reuses() - before;
    if (kCaching) {
        EXPECT_GE(reused, 190u); // the buffer and its chain, every round after the first
    } else {
        EXPECT_EQ(reused, 0u);
    }
}

TEST(EventMemory, LargeAndGrowingBuffersKeepTheirBytes) {
    Worker worker(0);
    evbuffer* buffer = evbuffer_new();
    ASSERT_NE(buffer, nullptr);
    std::string expected;
    for (int i = 0; i < 200; ++i) { // grows past the largest cached class (64 KiB)
        const std::string piece(1000 + i, static_cast<char>('a' + i % 26));
        ASSERT_EQ(evbuffer_add(buffer, piece.data(), piece.size()), 0);
        expected += piece;
    }
    ASSERT_NE(evbuffer_pullup(buffer, -1), nullptr); // one contiguous (reallocated) block
    std::string back(expected.size(), '\0');
    ASSERT_EQ(evbuffer_remove(buffer, back.data(), back.size()), static_cast<int>(back.size()));
    EXPECT_EQ(back, expected);
    evbuffer_free(buffer);
}

} // namespace
} // namespace lacquer::net
