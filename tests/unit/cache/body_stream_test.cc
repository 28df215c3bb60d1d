// BodyStream: the writer's bytes are readable in order as they are committed, across blocks of
// a body of unknown length and in the single block of a known one; watchers hear of every
// commit and of the end (even when they start watching after it); readers on other threads
// see every byte exactly once while the writer goes on (run under TSan in the tsan preset).
#include "lacquer/cache/body_stream.h"
#include "lacquer/cache/coalescer.h"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::cache {
namespace {

StreamRef make_stream(bool length_known, std::uint64_t length = 0) {
    BodyStream::Fields f;
    f.head = "HTTP/1.1 200 OK\r\nX: y\r\n";
    f.length_known = length_known;
    f.length = length;
    f.vary = "accept=json";
    return StreamRef(BodyStream::create(f));
}

void append(BodyStream& s, std::string_view bytes) {
    while (!bytes.empty()) {
        const std::span<char> room = s.room(bytes.size());
        ASSERT_FALSE(room.empty());
        std::copy_n(bytes.data(), room.size(), room.data());
        s.commit(room.size());
        bytes.remove_prefix(room.size());
    }
}

std::string read_all(const BodyStream& s, BodyStream::Cursor& cursor) {
    std::string out;
    for (std::string_view run = s.read(cursor); !run.empty(); run = s.read(cursor)) {
        out.append(run);
    }
    return out;
}

std::string pattern(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return out;
}

struct CountingWatcher final : StreamWatcher {
    void more() override { ++calls; }
    std::atomic<int> calls{0};
};

TEST(BodyStream, CarriesTheHeadAndReadsWhatIsCommittedInOrder) {
    StreamRef s = make_stream(true, 10);
    EXPECT_EQ(s->head(), "HTTP/1.1 200 OK\r\nX: y\r\n");
    EXPECT_EQ(s->vary(), "accept=json");
    EXPECT_TRUE(s->length_known());
    BodyStream::Cursor cursor;
    EXPECT_TRUE(s->read(cursor).empty()); // nothing yet
    append(*s, "12345");
    EXPECT_EQ(read_all(*s, cursor), "12345");
    EXPECT_TRUE(read_all(*s, cursor).empty());
    append(*s, "67890");
    EXPECT_EQ(read_all(*s, cursor), "67890");
    EXPECT_EQ(s->filled(), 10u);
    EXPECT_EQ(s->state(), BodyStream::State::Growing);
}

TEST(BodyStream, AnUnknownLengthGrowsAcrossBlocksAndCopiesOutWhole) {
    StreamRef s = make_stream(false);
    const std::string body = pattern(3 * 1024 * 1024 + 17); // many blocks, 16 KiB doubling
    BodyStream::Cursor early;
    std::string seen;
    for (std::size_t at = 0; at < body.size(); at += 40'000) {
        append(*s, std::string_view(body).substr(at, 40'000));
        seen += read_all(*s, early); // a reader keeping up
    }
    EXPECT_EQ(seen, body);
    BodyStream::Cursor late; // a reader starting at the end
    EXPECT_EQ(read_all(*s, late), body);
    std::string copy(s->size(), '\0');
    s->copy_to(copy.data());
    EXPECT_EQ(copy, body);
}

TEST(BodyStream, WatchersHearOfEachCommitAndOfTheEndEvenWhenTheyComeLate) {
    StreamRef s = make_stream(false);
    auto w = std::make_shared<CountingWatcher>();
    s->watch(w);
    append(*s, "ab");
    append(*s, "cd");
    EXPECT_EQ(w->calls, 2);
    StoredObject::Fields f;
    f.key = "k";
    f.head = s->head();
    f.body_size = 4;
    ObjectRef object(StoredObject::create(f));
    s->complete(object);
    EXPECT_EQ(w->calls, 3);
    EXPECT_EQ(s->state(), BodyStream::State::Complete);
    EXPECT_EQ(s->object().get(), object.get());
    auto late = std::make_shared<CountingWatcher>();
    s->watch(late); // after the end: told at once, the only news there is
    EXPECT_EQ(late->calls, 1);
    s->fail(); // an ended stream stays as it ended
    EXPECT_EQ(s->state(), BodyStream::State::Complete);
    EXPECT_EQ(w->calls, 3); // the stream let go of its watchers at the end
}

TEST(BodyStream, AFailedStreamSaysSoAndAnUnwatchedWatcherHearsNothing) {
    StreamRef s = make_stream(true, 4);
    auto gone = std::make_shared<CountingWatcher>();
    s->watch(gone);
    s->unwatch(gone.get());
    append(*s, "ab");
    s->fail();
    EXPECT_EQ(gone->calls, 0);
    EXPECT_EQ(s->state(), BodyStream::State::Failed);
    BodyStream::Cursor cursor;
    EXPECT_EQ(read_all(*s, cursor), "ab"); // what arrived stays readable for those sending it
}

// A watcher that wakes its reader thread, like a worker's queue would.
struct SignallingWatcher final : StreamWatcher {
    void more() override {
        std::lock_guard<std::mutex> lock(mutex);
        news = true;
        cv.notify_one();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mutex);
        const bool got = cv.wait_for(lock, std::chrono::seconds(10), [this] { return news; });
        news = false;
        return got;
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool news = false;
};

TEST(BodyStream, ReadersOnOtherThreadsSeeEveryByteOnceWhileTheWriterGoesOn) {
    StreamRef s = make_stream(false);
    const std::string body = pattern(2 * 1024 * 1024 + 3);
    constexpr int kReaders = 3;
    std::vector<std::string> got(kReaders);
    std::vector<int> completed(kReaders, 0); // not vector<bool>: its bits share words
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
        readers.emplace_back([&, r] {
            auto watcher = std::make_shared<SignallingWatcher>();
            s->watch(watcher);
            BodyStream::Cursor cursor;
            for (int rounds = 0; rounds < 100'000; ++rounds) {
                const BodyStream::State state = s->state();
                got[r] += read_all(*s, cursor);
                if (state != BodyStream::State::Growing) {
                    completed[r] = state == BodyStream::State::Complete ? 1 : 0;
                    break;
                }
                if (!watcher->wait()) {
                    break; // 10 s without news: the test fails below
                }
            }
            s->unwatch(watcher.get());
        });
    }
    for (std::size_t at = 0; at < body.size(); at += 4093) {
        append(*s, std::string_view(body).substr(at, 4093));
    }
    StoredObject::Fields f;
    f.key = "k";
    s->complete(ObjectRef(StoredObject::create(f)));
    for (std::thread& t : readers) {
        t.join();
    }
    for (int r = 0; r < kReaders; ++r) {
        EXPECT_EQ(completed[r], 1) << r;
        EXPECT_EQ(got[r].size(), body.size()) << r;
        EXPECT_TRUE(got[r] == body) << r;
    }
}

struct RecordingWaiter final : FillWaiter {
    void wake(const FillResult& result) override {
        ++wakes;
        last = result;
    }
    int wakes = 0;
    FillResult last;
};

TEST(BodyStream, ThePublishedStreamWakesWaitersAndLaterMissesAtOnceUntilFinish) {
    Coalescer c;
    const std::string k = "G\nh\n/s\n\n";
    const StoreKey key{1, 1, k};
    const core::Instant t0 = core::Instant{} + std::chrono::hours(1);
    auto early = std::make_shared<RecordingWaiter>();
    auto late = std::make_shared<RecordingWaiter>();
    auto after = std::make_shared<RecordingWaiter>();
    EXPECT_EQ(c.join(key, std::make_shared<RecordingWaiter>(), t0), Coalescer::Join::Lead);
    EXPECT_EQ(c.join(key, early, t0), Coalescer::Join::Wait);
    EXPECT_EQ(early->wakes, 0);
    StreamRef s = make_stream(true, 3);
    c.publish(key, s);
    EXPECT_EQ(early->wakes, 1);
    EXPECT_EQ(early->last.outcome, FillOutcome::Streaming);
    EXPECT_EQ(early->last.stream.get(), s.get());
    EXPECT_EQ(c.join(key, late, t0), Coalescer::Join::Wait); // the answer is arriving: share it
    EXPECT_EQ(late->wakes, 1);
    EXPECT_EQ(late->last.stream.get(), s.get());
    EXPECT_FALSE(c.leave(key, late.get())); // woken already
    c.finish(key, {FillOutcome::Stored, {}, 0, {}}, t0, std::chrono::seconds(60), false);
    EXPECT_EQ(early->wakes, 1); // streaming waiters are not woken twice
    EXPECT_EQ(c.join(key, after, t0), Coalescer::Join::Lead); // over: the store answers now
}

} // namespace
} // namespace lacquer::cache
