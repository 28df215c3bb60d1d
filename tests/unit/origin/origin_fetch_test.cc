// origin::OriginFetch over real loopback sockets, driven by a real net::Worker loop on the test
// thread: the head as sent, every framing of an answer (length, chunked, close-delimited, none)
// as whole or dribbled bytes, interim responses, pause/resume, the three timeouts each mapped
// to its FetchFault (the other timeouts set long, so a wrong timer would miss the deadline),
// keep-alive reuse and the one retry on a reused connection, cancel paths that leave no late
// callback, and the FetchFault list itself.
#include "lacquer/metrics/registry.h"
#include "lacquer/origin/origin_fetch.h"
#include "loopback_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace std::chrono_literals;
using loopback::LoopbackOrigin;
using loopback::run_for;
using loopback::run_until;
using loopback::settle;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Clock = std::chrono::steady_clock;

constexpr core::Millis kLong{5000}; // a timeout that must not be the one that fires
constexpr core::Millis kShort{150}; // the timeout under test
// Well below kLong: a fault that comes from the wrong (long) timer misses this deadline.
constexpr auto kFaultDeadline = 2500ms;

// Every call the fetch makes, in order: "head 200", "body" (consecutive body calls count once:
// their sizes depend on TCP segmentation), "done", "failed Closed after head".
struct RecordingObserver final : FetchObserver {
    std::vector<std::string> calls;
    std::string body;
    int drained = 0;
    std::function<void(OriginFetch&)> on_head = [](OriginFetch&) {};
    std::function<void(OriginFetch&)> on_body = [](OriginFetch&) {};

    void fetch_head(OriginFetch& fetch) override {
        calls.push_back("head " + std::to_string(fetch.response().status));
        on_head(fetch);
    }
    void fetch_body(OriginFetch& fetch, net::Connection& from, std::size_t n) override {
        std::string part(n, '\0');
        EXPECT_EQ(from.copy_input(part.data(), n), n); // the bytes stand at the front
        from.drain(n);
        body += part;
        if (calls.empty() || calls.back() != "body") {
            calls.emplace_back("body");
        }
        on_body(fetch);
    }
    void fetch_done(OriginFetch&) override { calls.emplace_back("done"); }
    void fetch_failed(OriginFetch&, FetchFault fault, bool head_delivered) override {
        calls.push_back("failed " + std::string(fetch_fault_name(fault)) +
                        (head_delivered ? " after head" : " before head"));
    }
    void fetch_upstream_drained(OriginFetch&) override { ++drained; }

    bool ended() const {
        return !calls.empty() && (calls.back() == "done" || calls.back().starts_with("failed"));
    }
    void clear() {
        calls.clear();
        body.clear();
    }
};

// Sends what the socket takes now, if anything: for a peer that may already have gone.
void poke(int fd, std::string_view bytes) {
    [[maybe_unused]] const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

std::string get_head(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: origin.test\r\n\r\n";
}

class OriginFetchTest : public ::testing::Test {
protected:
    OriginFetchTest() {
        spec_.name = "pool";
        spec_.servers.push_back({origin_.address(), "origin.test:80", 1});
        spec_.connect_timeout = kLong;
        spec_.first_byte_timeout = kLong;
        spec_.between_bytes_timeout = kLong;
        declare_counters();
    }
    void TearDown() override {
        fetch_.reset();
        settle(worker_); // disposed connections still point at their pool
        pool_.reset();
        settle(worker_);
    }

    OriginPool& pool() {
        if (!pool_) {
            pool_ = std::make_unique<OriginPool>(worker_, spec_, 1);
            pool_->count_into(&counters_, &shard_);
        }
        return *pool_;
    }
    OriginFetch& fetch() {
        if (!fetch_) {
            fetch_ = std::make_unique<OriginFetch>(worker_, observer_, http::HeadLimits{});
        }
        return *fetch_;
    }
    void start_get(std::string_view target = "/a") {
        fetch().start(pool(), get_head(target), "GET", false, 0);
    }
    // Starts a GET and plays the origin up to its answer: accepts, reads the head.
    int exchange(std::string_view target = "/a") {
        start_get(target);
        const int fd = origin_.accept(worker_);
        origin_.read_head(worker_, fd);
        return fd;
    }
    // Turns the loop until the fetch reports its end (done or failed).
    ::testing::AssertionResult wait_end(std::chrono::milliseconds limit = 5s) {
        if (run_until(
                worker_, [&] { return observer_.ended(); }, limit)) {
            return ::testing::AssertionSuccess();
        }
        return ::testing::AssertionFailure()
               << "the fetch did not end within " << limit.count()
               << " ms; calls so far: " << ::testing::PrintToString(observer_.calls);
    }

    std::uint64_t errors(FetchFault fault) const {
        return shard_.get(counters_.errors[static_cast<std::size_t>(fault)]);
    }
    std::uint64_t durations_observed() const {
        // A histogram's slots: buckets, +Inf, the sum, then the count.
        return shard_.get(counters_.duration.first +
                          static_cast<std::uint32_t>(metrics::kLatencyBuckets.size()) + 2);
    }
    std::uint8_t server_up() const { return counters_.server_up[0].load(); }

    net::Worker worker_{0};
    LoopbackOrigin origin_;
    OriginPoolSpec spec_;
    metrics::Registry registry_;
    OriginCounters counters_;
    metrics::Shard shard_{256};
    std::unique_ptr<OriginPool> pool_;
    RecordingObserver observer_;
    std::unique_ptr<OriginFetch> fetch_;

private:
    void declare_counters() {
        counters_.requests.push_back(registry_.counter("requests", "h"));
        std::array<std::uint32_t, 5> classes{};
        for (std::size_t c = 0; c < classes.size(); ++c) {
            classes[c] = registry_.counter("responses", "h", {{"class", std::to_string(c + 1)}});
        }
        counters_.responses.push_back(classes);
#define LACQUER_AS_SLOT(name, status)                                                              \
    counters_.errors.push_back(registry_.counter("errors", "h", {{"kind", #name}}));
        LACQUER_FETCH_FAULTS(LACQUER_AS_SLOT)
#undef LACQUER_AS_SLOT
        counters_.duration = registry_.histogram("duration", "h");
        counters_.server_up = std::make_unique<std::atomic<std::uint8_t>[]>(1);
        counters_.server_up[0] = 2; // neither up (1) nor down (0) until a connect says so
    }
};

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
    };
#define LACQUER_AS_ONE(name, status) +1
    constexpr std::size_t kListed = 0 LACQUER_FETCH_FAULTS(LACQUER_AS_ONE);
#undef LACQUER_AS_ONE
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
    // A fresh connection closed before any answer: no retry (that is for reused ones only).
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

// --- The exchange ----------------------------------------------------------------------------

TEST_F(OriginFetchTest, SendsTheHeadAsGivenAndHandsOverTheBodyAsItArrives) {
    start_get("/items/7?lang=de");
    EXPECT_TRUE(fetch().active());
    const int fd = origin_.accept(worker_);
    EXPECT_EQ(origin_.read_head(worker_, fd), get_head("/items/7?lang=de"));
    EXPECT_EQ(fetch().server_name(), "origin.test:80");
    EXPECT_EQ(server_up(), 1); // the connect succeeded
    EXPECT_EQ(shard_.get(counters_.requests[0]), 1u);

    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    ASSERT_TRUE(run_until(worker_, [&] { return !observer_.calls.empty(); }));
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    EXPECT_EQ(fetch().response().framing.length, 10u);
    LoopbackOrigin::send_all(fd, "abc");
    ASSERT_TRUE(run_until(worker_, [&] { return observer_.body == "abc"; }));
    EXPECT_TRUE(fetch().active()); // 7 bytes still to come
    LoopbackOrigin::send_all(fd, "defghij");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "abcdefghij");
    EXPECT_TRUE(origin_.stays_open(worker_, fd, 30ms)); // kept alive
}

TEST_F(OriginFetchTest, AHeadRequestEndsAtTheHeadWhateverTheLengthSays) {
    fetch().start(pool(), "HEAD /a HTTP/1.1\r\nHost: origin.test\r\n\r\n", "HEAD", false, 0);
    const int fd = origin_.accept(worker_);
    origin_.read_head(worker_, fd);
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "done"));
    EXPECT_EQ(pool().idle_count(), 1u);
}

// --- Timeouts: each fault from its own timer ---------------------------------------------------

TEST_F(OriginFetchTest, ConnectTimeoutWhenTheOriginNeverAnswersTheConnect) {
    LoopbackOrigin full(/*backlog=*/0);
    ASSERT_TRUE(full.fill_backlog()) << "could not make a connect hang";
    spec_.servers[0].address = full.address();
    spec_.connect_timeout = kShort;
    const auto t0 = Clock::now();
    start_get();
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_GE(Clock::now() - t0, kShort - 10ms);
    EXPECT_THAT(observer_.calls, ElementsAre("failed ConnectTimeout before head"));
    EXPECT_EQ(errors(FetchFault::ConnectTimeout), 1u);
    EXPECT_EQ(server_up(), 0); // marked down
    settle(worker_);
    EXPECT_EQ(pool().open_count(0), 0u);
}

TEST_F(OriginFetchTest, FirstByteTimeoutWhenTheAnswerDoesNotStart) {
    spec_.first_byte_timeout = kShort;
    const int fd = exchange();
    const auto t0 = Clock::now();
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_GE(Clock::now() - t0, kShort - 50ms);
    EXPECT_THAT(observer_.calls, ElementsAre("failed FirstByteTimeout before head"));
    EXPECT_EQ(errors(FetchFault::FirstByteTimeout), 1u);
    EXPECT_EQ(server_up(), 1); // the server took the connection: not marked down
    EXPECT_TRUE(origin_.wait_closed(worker_, fd));
}

// The first-byte timer covers the whole head: a head that starts and stalls still fails it.
TEST_F(OriginFetchTest, FirstByteTimeoutWhenTheHeadStalls) {
    spec_.first_byte_timeout = kShort;
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-");
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_THAT(observer_.calls, ElementsAre("failed FirstByteTimeout before head"));
}

TEST_F(OriginFetchTest, BetweenBytesTimeoutWhenTheBodyStalls) {
    spec_.between_bytes_timeout = kShort;
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_THAT(observer_.calls,
                ElementsAre("head 200", "body", "failed BetweenBytesTimeout after head"));
    EXPECT_EQ(observer_.body, "abc");
    EXPECT_EQ(errors(FetchFault::BetweenBytesTimeout), 1u);
    EXPECT_TRUE(origin_.wait_closed(worker_, fd));
}

// Between bytes, not for the whole body: a body that keeps coming may take longer than it.
TEST_F(OriginFetchTest, EveryBodyByteRestartsTheBetweenBytesTimer) {
    spec_.between_bytes_timeout = core::Millis(300);
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n");
    const auto t0 = Clock::now();
    for (int i = 0; i < 7; ++i) {
        LoopbackOrigin::send_all(fd, "x");
        run_for(worker_, 60ms);
    }
    EXPECT_GT(Clock::now() - t0, 400ms); // longer than the timeout, all told
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body"));
    LoopbackOrigin::send_all(fd, "y");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "xxxxxxxy");
}

// While the request body goes out, the origin must keep taking it: between_bytes applies.
TEST_F(OriginFetchTest, BetweenBytesTimeoutWhileTheRequestBodyStalls) {
    spec_.between_bytes_timeout = kShort;
    fetch().start(pool(), "POST /up HTTP/1.1\r\nHost: o\r\nContent-Length: 6\r\n\r\n", "POST",
                  /*body_follows=*/true, 0);
    ASSERT_NE(fetch().upstream(), nullptr);
    fetch().upstream()->write("abc"); // and never the rest, nor request_sent()
    const int fd = origin_.accept(worker_);
    std::string rest;
    origin_.read_head(worker_, fd, &rest);
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_THAT(observer_.calls, ElementsAre("failed BetweenBytesTimeout before head"));
    EXPECT_GE(observer_.drained, 1); // the head and the first bytes went out
}

// Once the request body is all out, the answer must start within first_byte.
TEST_F(OriginFetchTest, FirstByteTimeoutOnceTheRequestBodyIsSent) {
    spec_.first_byte_timeout = kShort;
    fetch().start(pool(), "POST /up HTTP/1.1\r\nHost: o\r\nContent-Length: 6\r\n\r\n", "POST",
                  /*body_follows=*/true, 0);
    fetch().upstream()->write("abcdef");
    fetch().request_sent();
    const int fd = origin_.accept(worker_);
    std::string rest;
    origin_.read_head(worker_, fd, &rest);
    ASSERT_TRUE(run_until(worker_, [&] {
        LoopbackOrigin::read_available(fd, rest);
        return rest == "abcdef" || observer_.ended();
    }));
    EXPECT_EQ(rest, "abcdef");
    ASSERT_TRUE(wait_end(kFaultDeadline));
    EXPECT_THAT(observer_.calls, ElementsAre("failed FirstByteTimeout before head"));
}

// --- Pause and resume ---------------------------------------------------------------------------

TEST_F(OriginFetchTest, APausedBodyIsHeldUntilResumed) {
    observer_.on_head = [](OriginFetch& f) { f.pause_body(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(run_until(worker_, [&] {
        return fetch().upstream() != nullptr && fetch().upstream()->input_size() == 5;
    })) << "the body never reached the fetch's connection";
    run_for(worker_, 30ms);
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    EXPECT_TRUE(fetch().active());
    fetch().resume_body();
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "hello");
    EXPECT_EQ(pool().idle_count(), 1u);
}

// Resuming from inside fetch_body does not re-enter the delivery loop: bytes stay in order.
TEST_F(OriginFetchTest, PauseAndResumeInsideTheBodyCallbackKeepTheOrder) {
    int bodies = 0;
    observer_.on_body = [&](OriginFetch& f) {
        ++bodies;
        f.pause_body();
        f.resume_body();
    };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "onetwothree");
    EXPECT_GE(bodies, 3); // one call per chunk at least
}

// The end of a close-delimited body arrives while paused: not a failure, the end on resume.
TEST_F(OriginFetchTest, ACloseDelimitedBodyPausedAtItsEndFinishesOnResume) {
    observer_.on_head = [](OriginFetch& f) { f.pause_body(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\n\r\nall of it");
    ::shutdown(fd, SHUT_WR);
    ASSERT_TRUE(run_until(worker_, [&] {
        return fetch().upstream() != nullptr && fetch().upstream()->input_size() == 9;
    }));
    run_for(worker_, 30ms); // the EOF arrives meanwhile
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    fetch().resume_body();
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "all of it");
}

TEST_F(OriginFetchTest, ABodyCutWhilePausedFailsOnResumeAfterItsBytes) {
    observer_.on_head = [](OriginFetch& f) { f.pause_body(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    ::shutdown(fd, SHUT_WR);
    ASSERT_TRUE(run_until(worker_, [&] {
        return fetch().upstream() != nullptr && fetch().upstream()->input_size() == 3;
    }));
    run_for(worker_, 30ms);
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    fetch().resume_body();
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "failed Closed after head"));
    EXPECT_EQ(observer_.body, "abc");
}

// --- Keep-alive and the retry ------------------------------------------------------------------

TEST_F(OriginFetchTest, TheNextFetchReusesTheKeptConnection) {
    const int fd = exchange("/one");
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    ASSERT_TRUE(wait_end());
    observer_.clear();

    start_get("/two");
    EXPECT_EQ(origin_.read_head(worker_, fd), get_head("/two")); // on the same connection
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "2");
    EXPECT_EQ(origin_.try_accept(), -1);
    EXPECT_EQ(origin_.accepted(), 1);
    EXPECT_EQ(pool().open_count(0), 1u);
}

// The origin may close a kept connection just as a request goes out on it: that request (no
// body, no answer byte yet) is sent again once, on a new connection.
TEST_F(OriginFetchTest, AReusedConnectionClosedBeforeTheAnswerIsRetriedOnceOnAFreshOne) {
    const int first = exchange("/one");
    LoopbackOrigin::send_all(first, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    ASSERT_TRUE(wait_end());
    observer_.clear();

    start_get("/two");
    origin_.read_head(worker_, first);
    origin_.close(first);
    const int second = origin_.accept(worker_);
    EXPECT_EQ(origin_.read_head(worker_, second), get_head("/two")); // the same request again
    LoopbackOrigin::send_all(second, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "2");
    EXPECT_EQ(origin_.accepted(), 2);
}

TEST_F(OriginFetchTest, OnlyOneRetry) {
    const int first = exchange("/one");
    LoopbackOrigin::send_all(first, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    ASSERT_TRUE(wait_end());
    observer_.clear();

    start_get("/two");
    origin_.read_head(worker_, first);
    origin_.close(first);
    const int second = origin_.accept(worker_);
    origin_.read_head(worker_, second);
    origin_.close(second);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("failed Closed before head"));
    run_for(worker_, 30ms);
    EXPECT_EQ(origin_.try_accept(), -1);
    EXPECT_EQ(origin_.accepted(), 2);
}

// A request body may already have been consumed: never sent twice.
TEST_F(OriginFetchTest, NoRetryWhenARequestBodyFollows) {
    const int first = exchange("/one");
    LoopbackOrigin::send_all(first, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    ASSERT_TRUE(wait_end());
    observer_.clear();

    fetch().start(pool(), "POST /up HTTP/1.1\r\nHost: o\r\nContent-Length: 2\r\n\r\n", "POST",
                  /*body_follows=*/true, 0);
    fetch().upstream()->write("ab");
    fetch().request_sent();
    origin_.read_head(worker_, first);
    origin_.close(first);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("failed Closed before head"));
    run_for(worker_, 30ms);
    EXPECT_EQ(origin_.accepted(), 1);
}

// --- Cancel: nothing after it ------------------------------------------------------------------

TEST_F(OriginFetchTest, CancelDuringTheConnectSilencesItsTimer) {
    LoopbackOrigin full(/*backlog=*/0);
    ASSERT_TRUE(full.fill_backlog());
    spec_.servers[0].address = full.address();
    spec_.connect_timeout = core::Millis(50);
    start_get();
    fetch().cancel();
    EXPECT_FALSE(fetch().active());
    run_for(worker_, 200ms); // well past the connect timeout
    EXPECT_THAT(observer_.calls, IsEmpty());
    EXPECT_EQ(errors(FetchFault::ConnectTimeout), 0u);
    EXPECT_EQ(pool().open_count(0), 0u);
}

TEST_F(OriginFetchTest, CancelWhileWaitingIgnoresTheLateAnswerAndTheTimer) {
    spec_.first_byte_timeout = core::Millis(100);
    const int fd = exchange();
    fetch().cancel();
    EXPECT_TRUE(origin_.wait_closed(worker_, fd)); // closed, not kept
    poke(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run_for(worker_, 250ms); // past the first-byte timeout too
    EXPECT_THAT(observer_.calls, IsEmpty());
    EXPECT_EQ(pool().idle_count(), 0u);
    EXPECT_EQ(pool().open_count(0), 0u);

    // The fetch can be started again, on a new connection.
    const int again = exchange("/again");
    LoopbackOrigin::send_all(again, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(origin_.accepted(), 2);
}

TEST_F(OriginFetchTest, CancelFromInsideFetchHeadDeliversNoBody) {
    observer_.on_head = [](OriginFetch& f) { f.cancel(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(run_until(worker_, [&] { return !observer_.calls.empty(); }));
    EXPECT_TRUE(origin_.wait_closed(worker_, fd));
    run_for(worker_, 30ms);
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    EXPECT_EQ(observer_.body, "");
    EXPECT_EQ(pool().idle_count(), 0u);
}

TEST_F(OriginFetchTest, CancelFromInsideFetchBodyStopsTheRest) {
    spec_.between_bytes_timeout = core::Millis(100);
    observer_.on_body = [](OriginFetch& f) { f.cancel(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "3\r\none\r\n");
    ASSERT_TRUE(run_until(worker_, [&] { return observer_.calls.size() == 2; }));
    EXPECT_TRUE(origin_.wait_closed(worker_, fd));
    poke(fd, "3\r\ntwo\r\n0\r\n\r\n");
    run_for(worker_, 200ms); // past the between-bytes timeout
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body"));
    EXPECT_EQ(observer_.body, "one");
}

TEST_F(OriginFetchTest, DestroyingAnActiveFetchClosesItsConnectionSilently) {
    const int fd = exchange();
    fetch_.reset();
    EXPECT_TRUE(origin_.wait_closed(worker_, fd));
    settle(worker_);
    EXPECT_THAT(observer_.calls, IsEmpty());
    EXPECT_EQ(pool().open_count(0), 0u);
}

// --- Refusals --------------------------------------------------------------------------------

TEST_F(OriginFetchTest, AllBusyWhenEveryServerIsAtItsConnectionCap) {
    spec_.max_connections_per_server = 1;
    const int fd = exchange(); // holds the only connection
    RecordingObserver other;
    OriginFetch second(worker_, other, http::HeadLimits{});
    second.start(pool(), get_head("/b"), "GET", false, 0);
    EXPECT_THAT(other.calls, ElementsAre("failed AllBusy before head")); // before start returned
    EXPECT_FALSE(second.active());
    EXPECT_EQ(second.server_name(), "-");
    EXPECT_EQ(errors(FetchFault::AllBusy), 1u);

    // The first exchange is untouched.
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
}

TEST_F(OriginFetchTest, ConnectFailedWhenNothingListens) {
    origin_.close_listener();
    start_get();
    ASSERT_TRUE(wait_end()); // refused at once or by the connect's error event
    EXPECT_THAT(observer_.calls, ElementsAre("failed ConnectFailed before head"));
    EXPECT_EQ(fetch().server_name(), "origin.test:80");
    EXPECT_EQ(errors(FetchFault::ConnectFailed), 1u);
    EXPECT_EQ(server_up(), 0);
    settle(worker_);
    EXPECT_EQ(pool().open_count(0), 0u);
}

} // namespace
} // namespace lacquer::origin
