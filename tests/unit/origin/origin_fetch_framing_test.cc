// OriginFetch and the origin's answers: every framing (length, chunked, close-delimited, none,
// interim responses) and every cut or malformed answer, sent whole or dribbled a byte at a time,
// decides when the exchange ends, how (done or which fault, before or after the head) and
// whether the connection goes back to its pool. Also the FetchFault list itself.
#include "origin_fetch_fixture.h"

#include <iterator>
#include <string>
#include <tuple>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace fetch_testing;
using namespace std::chrono_literals;
using loopback::LoopbackOrigin;
using loopback::settle;

// --- The fault list ---------------------------------------------------------------------------

TEST(FetchFaults, EveryFaultHasItsNameAndStatusFromTheOneList) {
    struct Expected {
        FetchFault fault;
        std::string_view name;
        int status;
    };
    // Written out by hand: the X-macro must give exactly these.
    constexpr Expected kExpected[] = {
        {FetchFault::None, "None", 0},
        {FetchFault::AllBusy, "AllBusy", 503},
        {FetchFault::ConnectFailed, "ConnectFailed", 502},
        {FetchFault::ConnectTimeout, "ConnectTimeout", 504},
        {FetchFault::FirstByteTimeout, "FirstByteTimeout", 504},
        {FetchFault::BetweenBytesTimeout, "BetweenBytesTimeout", 504},
        {FetchFault::BadResponse, "BadResponse", 502},
        {FetchFault::Closed, "Closed", 502},
        {FetchFault::Tls, "Tls", 502},
        {FetchFault::QueueFull, "QueueFull", 503},
        {FetchFault::QueueTimeout, "QueueTimeout", 503},
    };
#define LACQUER_AS_ONE(name, status) 1,
    constexpr int kOnePerFault[] = {LACQUER_FETCH_FAULTS(LACQUER_AS_ONE)};
#undef LACQUER_AS_ONE
    constexpr std::size_t kListed = std::size(kOnePerFault);
    static_assert(std::size(kExpected) == kListed, "a new FetchFault needs its expected status");
    for (std::size_t i = 0; i < std::size(kExpected); ++i) {
        const Expected& e = kExpected[i];
        EXPECT_EQ(static_cast<std::size_t>(e.fault), i) << e.name;
        EXPECT_EQ(fetch_fault_name(e.fault), e.name);
        EXPECT_EQ(fetch_fault_status(e.fault), e.status) << e.name;
    }
}

// --- Answers: one table, sent whole or dribbled a byte at a time --------------------------------

struct AnswerCase {
    const char* name;
    std::string_view answer; // the origin's bytes
    bool then_close;         // the origin closes its end after them
    std::vector<std::string> calls;
    std::string_view body;
    bool reusable; // the connection goes back to the pool
};

void PrintTo(const AnswerCase& c, std::ostream* os) {
    *os << c.name;
}

const AnswerCase kAnswers[] = {
    {"Length",
     "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
     false,
     {"head 200", "body", "done"},
     "hello world",
     true},
    {"Chunked",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
     false,
     {"head 200", "body", "done"},
     "hello world",
     true},
    {"CloseDelimited",
     "HTTP/1.1 200 OK\r\n\r\nuntil the end",
     true,
     {"head 200", "body", "done"},
     "until the end",
     false},
    {"Http10WithLength",
     "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
     false,
     {"head 200", "body", "done"},
     "ok",
     false},
    {"ConnectionClose",
     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
     false,
     {"head 200", "body", "done"},
     "ok",
     false},
    {"NoContent", "HTTP/1.1 204 No Content\r\n\r\n", false, {"head 204", "done"}, "", true},
    {"NotModifiedWithLength",
     "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
     false,
     {"head 304", "done"},
     "",
     true},
    {"EmptyLength",
     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
     false,
     {"head 200", "done"},
     "",
     true},
    {"InterimResponsesSkipped",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     false,
     {"head 200", "body", "done"},
     "ok",
     true},
    // Bytes after a complete answer: the origin framed badly, the connection is never reused.
    {"LeftoverBytesAfterTheBody",
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
     false,
     {"head 200", "body", "done"},
     "ok",
     false},
    {"BodyCutShort",
     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
     true,
     {"head 200", "body", "failed Closed after head"},
     "abc",
     false},
    {"ChunkedCutShort",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
     true,
     {"head 200", "body", "failed Closed after head"},
     "ab",
     false},
    {"BadChunkSize",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     false,
     {"head 200", "failed BadResponse after head"},
     "",
     false},
    {"NotHttp",
     "SSH-2.0-OpenSSH_9.6\r\n\r\n",
     false,
     {"failed BadResponse before head"},
     "",
     false},
    {"SwitchingProtocols",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
     false,
     {"failed BadResponse before head"},
     "",
     false},
    {"HeadCutShort",
     "HTTP/1.1 200 OK\r\nContent-Le",
     true,
     {"failed BadResponse before head"},
     "",
     false},
    // A fresh connection closed before any answer, with `retries: 0` (the fixture's): no retry.
    {"ClosedBeforeAnyByte", "", true, {"failed Closed before head"}, "", false},
};

class OriginFetchAnswers : public OriginFetchTest,
                           public ::testing::WithParamInterface<std::tuple<AnswerCase, bool>> {};

TEST_P(OriginFetchAnswers, FramingDecidesTheEndAndWhetherTheConnectionIsKept) {
    const auto& [c, dribbled] = GetParam();
    const int fd = exchange();
    if (dribbled) {
        // The fetch may end (and close) before the last byte: the rest is then refused.
        for (const char byte : c.answer) {
            poke(fd, std::string_view(&byte, 1));
            settle(worker_);
        }
    } else {
        LoopbackOrigin::send_all(fd, c.answer);
    }
    if (c.then_close) {
        ::shutdown(fd, SHUT_WR);
    }
    ASSERT_TRUE(wait_end());
    EXPECT_EQ(observer_.calls, c.calls);
    EXPECT_EQ(observer_.body, c.body);
    EXPECT_FALSE(fetch().active());
    settle(worker_);
    if (c.reusable) {
        EXPECT_EQ(pool().idle_count(), 1u);
        EXPECT_EQ(pool().open_count(0), 1u);
    } else {
        EXPECT_EQ(pool().idle_count(), 0u);
        EXPECT_EQ(pool().open_count(0), 0u);
        EXPECT_TRUE(origin_.wait_closed(worker_, fd)) << "the connection was not closed";
    }
    EXPECT_EQ(origin_.accepted(), 1); // never a second connection
    const bool failed = observer_.calls.back().starts_with("failed");
    EXPECT_EQ(durations_observed(), 1u);
    if (!failed) {
        EXPECT_EQ(shard_.get(counters_.responses[0][static_cast<std::size_t>(
                      std::stoi(observer_.calls.front().substr(5)) / 100 - 1)]),
                  1u);
    }
}

INSTANTIATE_TEST_SUITE_P(Framing, OriginFetchAnswers,
                         ::testing::Combine(::testing::ValuesIn(kAnswers), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<AnswerCase, bool>>& param) {
                             return std::string(std::get<0>(param.param).name) +
                                    (std::get<1>(param.param) ? "Dribbled" : "Whole");
                         });

} // namespace
} // namespace lacquer::origin
