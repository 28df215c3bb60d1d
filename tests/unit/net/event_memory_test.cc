// libevent's memory goes through per-thread block caches: a buffer that is filled and emptied
// again and again reuses its blocks instead of asking malloc each time.
#include "lacquer/core/sanitizers.h"
#include "lacquer/net/event_memory.h"
#include "lacquer/net/worker.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace lacquer::net {
namespace {

#if defined(LACQUER_ASAN) || defined(LACQUER_TSAN)
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

TEST(EventMemory, ACacheIsBoundedAndReleasedWhole) {
    Worker worker(0);
    release_event_memory();
    // Buffers grown past a few chains, all freed at once: the 16 KiB class keeps 64 blocks,
    // the rest are freed (and counted as such).
    std::vector<evbuffer*> buffers;
    const std::string data(16000, 'y');
    for (int i = 0; i < 100; ++i) {
        buffers.push_back(evbuffer_new());
        ASSERT_EQ(evbuffer_add(buffers.back(), data.data(), data.size()), 0);
    }
    for (evbuffer* b : buffers) {
        evbuffer_free(b);
    }
    if (!kCaching) {
        EXPECT_EQ(kept_event_memory(), 0u);
        return;
    }
    EXPECT_GT(kept_event_memory(), 64u * 16 * 1024);
    EXPECT_LE(kept_event_memory(), 8u * 1024 * 1024);
    EXPECT_GT(event_memory_freed(), 0u);
    const std::size_t kept = kept_event_memory();
    EXPECT_EQ(release_event_memory(), kept);
    EXPECT_EQ(kept_event_memory(), 0u);
    EXPECT_EQ(event_memory_freed(), 0u);
}

TEST(EventMemory, PerFdRecordsOfManyFdsAllWork) {
    // Events on fds never seen before make libevent allocate its small per-fd records (slabs);
    // they are reused when the fd numbers come back.
    Worker worker(0);
    for (int round = 0; round < 3; ++round) {
        std::vector<int> fds;
        std::vector<event*> events;
        for (int i = 0; i < 200; ++i) {
            int pair[2];
            ASSERT_EQ(::pipe(pair), 0);
            fds.push_back(pair[0]);
            fds.push_back(pair[1]);
            events.push_back(event_new(
                worker.base(), pair[0], EV_READ, [](int, short, void*) {}, nullptr));
            ASSERT_NE(events.back(), nullptr);
            ASSERT_EQ(event_add(events.back(), nullptr), 0);
        }
        for (event* e : events) {
            event_free(e);
        }
        for (int fd : fds) {
            ::close(fd);
        }
    }
}

} // namespace
} // namespace lacquer::net
