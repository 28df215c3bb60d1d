// The transaction log without a server: the filter's query (every parameter, every refusal),
// what it selects, the ring's drop counting, the watchers' fan-out and count, and the lines.
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/request_fsm.h"
#include "lacquer/proxy/transaction_filter.h"
#include "lacquer/proxy/transaction_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thread>

namespace lacquer::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Field = TransactionRecord::Field;

TransactionRecord record(std::string_view url, int status, CacheStatus cache,
                         std::uint32_t total_ms = 1, std::string_view route = "api",
                         std::string_view client = "10.1.2.3", std::string_view host = "api.test") {
    TransactionRecord r;
    r.status = static_cast<std::uint16_t>(status);
    r.cache_status = static_cast<std::uint8_t>(cache);
    r.total_us = total_ms * 1000;
    r.unix_time = 1'700'000'000;
    r.steps[0] = {static_cast<std::uint8_t>(Step::Recv), 0};
    r.steps[1] = {static_cast<std::uint8_t>(Step::Fetch), 250};
    r.step_count = 2;
    r.set_field(Field::Client, client);
    r.set_field(Field::Method, "GET");
    r.set_field(Field::Host, host);
    r.set_field(Field::Url, url);
    r.set_field(Field::Route, route);
    r.set_field(Field::Key, "G\napi.test\n/v3/a\nlimit=5\nlocale=de-DE\n");
    r.set_field(Field::CacheStatus, "lacquer; fwd=uri-miss; stored");
    r.set_field(Field::Origin, "127.0.0.1:9000");
    return r;
}

std::unique_ptr<const TransactionFilter> filter(std::string_view query) {
    std::string error;
    auto f = TransactionFilter::parse(query, error);
    EXPECT_NE(f, nullptr) << query << ": " << error;
    return f;
}

std::string refusal(std::string_view query) {
    std::string error;
    EXPECT_EQ(TransactionFilter::parse(query, error), nullptr) << query;
    return error;
}

TEST(TransactionFilter, EachParameterSelectsExactlyItsRecords) {
    const TransactionRecord a = record("/v3/a?limit=5", 200, CacheStatus::Miss, 12);
    const TransactionRecord b =
        record("/v3/b", 503, CacheStatus::Error, 1, "pass", "192.168.0.9", "other.test:8080");
    EXPECT_TRUE(filter("")->matches(a));
    EXPECT_TRUE(filter("")->matches(b));
    const std::pair<std::string_view, std::pair<bool, bool>> cases[] = {
        {"url=%5E%2Fv3%2Fa", {true, false}},
        {"url=limit=5$", {true, false}}, // the first '=' splits
        {"status=5xx", {false, true}},
        {"status=200", {true, false}},
        {"status=2XX", {true, false}},
        {"route=pass", {false, true}},
        {"cache=miss", {true, false}},
        {"cache=error", {false, true}},
        {"host=other.test", {false, true}}, // the port is ignored, case too
        {"host=API.TEST", {true, false}},
        {"client=10.0.0.0/8", {true, false}},
        {"client=192.168.0.9", {false, true}},
        {"slower=11", {true, false}},
        {"slower=12", {false, false}}, // more than, not equal
        {"status=5xx&route=api", {false, false}},
    };
    for (const auto& [query, want] : cases) {
        const auto f = filter(query);
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->matches(a), want.first) << query;
        EXPECT_EQ(f->matches(b), want.second) << query;
    }
    EXPECT_TRUE(filter("format=json")->json());
    EXPECT_FALSE(filter("format=text")->json());
    EXPECT_EQ(filter("count=7")->count(), 7u);
}

TEST(TransactionFilter, RefusesWhatItCannotMeanAndSaysWhich) {
    EXPECT_THAT(refusal("colour=red"), StartsWith("unknown parameter 'colour'"));
    EXPECT_THAT(refusal("status=5x"), StartsWith("status:"));
    EXPECT_THAT(refusal("status=6xx"), StartsWith("status:"));
    EXPECT_THAT(refusal("status=99"), StartsWith("status:"));
    EXPECT_THAT(refusal("cache=warm"), StartsWith("cache:"));
    EXPECT_THAT(refusal("client=10.0.0.1/8"), StartsWith("client:")); // host bits set
    EXPECT_THAT(refusal("slower=-1"), StartsWith("slower:"));
    EXPECT_THAT(refusal("format=xml"), StartsWith("format:"));
    EXPECT_THAT(refusal("count=ten"), StartsWith("count:"));
    EXPECT_THAT(refusal("url=(%3F%3Dx)"), StartsWith("url:")); // lookaround: not RE2
    EXPECT_THAT(refusal("url=%zz"), HasSubstr("percent-encoding"));
    EXPECT_THAT(refusal("route=a&route=b"), HasSubstr("given twice"));
}

TEST(TransactionRecord, FieldsAreCutToTheirRoomAndSaySo) {
    TransactionRecord r;
    r.set_field(Field::Client, "1.2.3.4");
    r.set_field(Field::Method, "GET");
    r.set_field(Field::Host, "h");
    r.set_field(Field::Url, std::string(5000, 'u'));
    r.set_field(Field::Route, "r");
    r.set_field(Field::Key, std::string(5000, 'k'));
    r.set_field(Field::CacheStatus, "c");
    r.set_field(Field::Origin, "o");
    EXPECT_EQ(r.field(Field::Client), "1.2.3.4");
    EXPECT_EQ(r.field(Field::Url).size(), TransactionRecord::kUrlBytes);
    EXPECT_TRUE(r.field(Field::Url).ends_with("..."));
    EXPECT_EQ(r.field(Field::Route), "r");
    EXPECT_TRUE(r.field(Field::Key).ends_with("..."));
    // The key took what was left: the fields after it are empty, never out of bounds.
    EXPECT_EQ(r.field(Field::Origin), "");
}

TEST(TransactionRing, AFullRingDropsAndCountsNeverOverwrites) {
    TransactionRing ring(4);
    for (int i = 0; i < 6; ++i) {
        TransactionRecord* r = ring.claim();
        if (r == nullptr) {
            continue;
        }
        r->status = static_cast<std::uint16_t>(200 + i);
        ring.publish();
    }
    EXPECT_EQ(ring.dropped(), 2u);
    std::vector<int> seen;
    EXPECT_EQ(ring.drain([&](const TransactionRecord& r) { seen.push_back(r.status); }), 4u);
    EXPECT_EQ(seen, (std::vector<int>{200, 201, 202, 203}));
    ASSERT_NE(ring.claim(), nullptr); // room again once drained
}

TEST(TransactionRing, AWriterThreadAndAReaderMeetOnlyThroughTheRing) {
    // The worker writes while the admin thread drains (TSan runs this): every record is either
    // read, in order, complete, or counted as dropped.
    TransactionRing ring(8);
    constexpr std::uint32_t kRecords = 20'000;
    std::thread writer([&ring] {
        for (std::uint32_t i = 0; i < kRecords; ++i) {
            if (TransactionRecord* r = ring.claim()) {
                r->total_us = i;
                r->bytes = std::uint64_t{i} * 3;
                ring.publish();
            }
        }
    });
    std::uint64_t read = 0;
    std::int64_t last = -1;
    bool ordered = true;
    const auto take = [&](const TransactionRecord& r) {
        ordered = ordered && static_cast<std::int64_t>(r.total_us) > last &&
                  r.bytes == std::uint64_t{r.total_us} * 3;
        last = r.total_us;
        ++read;
    };
    for (int spins = 0; spins < 1'000'000 && read + ring.dropped() < kRecords; ++spins) {
        ring.drain(take);
    }
    writer.join();
    ring.drain(take);
    EXPECT_TRUE(ordered);
    EXPECT_EQ(read + ring.dropped(), kRecords);
    EXPECT_GT(read, 0u);
}

TEST(TransactionLog, WatchersTurnTheFlagOnAndOffAndEachGetsWhatItsFilterTakes) {
    TransactionLog log(2, 2);
    EXPECT_FALSE(log.watching());
    EXPECT_EQ(log.ring(0), nullptr); // no memory until someone watches
    auto misses = log.watch(filter("cache=miss&count=2"));
    auto errors = log.watch(filter("status=5xx&format=json"));
    EXPECT_TRUE(log.watching());
    ASSERT_NE(log.ring(1), nullptr);
    for (const auto& [worker, r] : {std::pair{0u, record("/a", 200, CacheStatus::Miss)},
                                    std::pair{1u, record("/b", 503, CacheStatus::Error)},
                                    std::pair{1u, record("/c", 200, CacheStatus::Miss)},
                                    std::pair{0u, record("/d", 200, CacheStatus::Miss)}}) {
        TransactionRecord* slot = log.ring(worker)->claim();
        ASSERT_NE(slot, nullptr);
        *slot = r;
        log.ring(worker)->publish();
    }
    std::string out;
    EXPECT_FALSE(misses->pump(out)); // two records: its count is reached, the stream ends
    EXPECT_THAT(out, HasSubstr(" /a 200 miss "));
    EXPECT_THAT(out, Not(HasSubstr(" /b ")));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
    out.clear();
    EXPECT_TRUE(errors->pump(out));
    EXPECT_THAT(out, StartsWith("{\"time\": \"2023-11-14T22:13:20Z\", \"worker\": 0, "));
    EXPECT_THAT(out, HasSubstr("\"url\": \"/b\""));
    EXPECT_THAT(out, HasSubstr("\"variants\": {\"locale\": \"de-DE\"}"));
    EXPECT_THAT(out, HasSubstr("\"steps\": [{\"step\": \"Recv\", \"ms\": 0.000}, "
                               "{\"step\": \"Fetch\", \"ms\": 0.250}]"));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
    misses.reset();
    EXPECT_TRUE(log.watching());
    errors.reset();
    EXPECT_FALSE(log.watching());
}

// A reload that adds workers: their rings come at the reader's next drain, within capacity.
TEST(TransactionLog, WorkersAReloadAddsGetRingsAtTheNextDrain) {
    TransactionLog log(1, 3);
    auto w = log.watch(filter(""));
    ASSERT_NE(log.ring(0), nullptr);
    EXPECT_EQ(log.ring(1), nullptr);
    log.set_workers(5); // beyond the capacity: the first 3
    EXPECT_EQ(log.ring(2), nullptr);
    std::string out;
    EXPECT_TRUE(w->pump(out)); // drains, and makes the rings first
    ASSERT_NE(log.ring(1), nullptr);
    ASSERT_NE(log.ring(2), nullptr);
    EXPECT_EQ(log.ring(3), nullptr); // past the capacity: no ring, the record is not kept
    TransactionRecord* slot = log.ring(2)->claim();
    ASSERT_NE(slot, nullptr);
    *slot = record("/new-worker", 200, CacheStatus::Hit);
    log.ring(2)->publish();
    EXPECT_TRUE(w->pump(out));
    EXPECT_THAT(out, HasSubstr(" /new-worker 200 hit "));
}

TEST(TransactionLog, DropsAreReportedInTheStreamOnce) {
    TransactionLog log(1, 1);
    auto w = log.watch(filter(""));
    TransactionRing& ring = *log.ring(0);
    std::size_t written = 0;
    for (std::size_t i = 0; i < ring.capacity() + 3; ++i) {
        if (TransactionRecord* slot = ring.claim()) {
            *slot = record("/x", 200, CacheStatus::Hit);
            ring.publish();
            ++written;
        }
    }
    EXPECT_EQ(written, ring.capacity());
    std::string out;
    EXPECT_TRUE(w->pump(out));
    EXPECT_THAT(out, StartsWith("# dropped 3 records: the reader was too slow\n"));
    out.clear();
    EXPECT_TRUE(w->pump(out));
    EXPECT_EQ(out, ""); // reported once
}

TEST(TransactionFormat, TextLinesNeverSplitOnWhatTheClientSent) {
    std::string out;
    append_transaction(out, record("/a b\"c\n", 200, CacheStatus::Hit), false);
    EXPECT_THAT(out, HasSubstr(" /a%20b%22c%0A 200 hit route=api "));
    EXPECT_THAT(out, HasSubstr(" key=G|api.test|/v3/a|limit=5|locale=de-DE "));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

} // namespace
} // namespace lacquer::proxy
