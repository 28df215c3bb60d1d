// origin::OriginFetch over real loopback sockets, driven by a real net::Worker loop on the test
// thread: the head as sent and the body as it arrives, the three timeouts each mapped to its
// FetchFault (the other timeouts set long, so a wrong timer misses the deadline), pause/resume,
// keep-alive reuse and the one retry on a reused connection, cancel paths that leave no late
// callback, and the refusals (all busy, connect refused). Framing: origin_fetch_framing_test.cc.
#include "origin_fetch_fixture.h"

#include <string>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace fetch_testing;
using namespace std::chrono_literals;
using loopback::LoopbackOrigin;
using loopback::run_for;
using loopback::run_until;
using loopback::settle;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Clock = std::chrono::steady_clock;

// --- The exchange ----------------------------------------------------------------------------

TEST_F(OriginFetchTest, SendsTheHeadAsGivenAndHandsOverTheBodyAsItArrives) {
    start_get("/items/7?lang=de");
    EXPECT_TRUE(fetch().active());
    const int fd = origin_.accept(worker_);
    EXPECT_EQ(origin_.read_head(worker_, fd), get_head("/items/7?lang=de"));
    EXPECT_EQ(fetch().server_name(), "origin.test:80");
    EXPECT_EQ(failures(), 0u); // the connect succeeded
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
    EXPECT_EQ(failures(), 1u); // counted against the server (passive ejection)
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
    EXPECT_EQ(failures(), 1u); // a server that never answers counts as failing
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

// A body the observer holds back (its client is slow) is not the origin stalling: no
// BetweenBytesTimeout while paused, however long; the clock starts again on resume.
TEST_F(OriginFetchTest, APausedBodyDoesNotTimeOutWhileItsClientIsSlow) {
    spec_.between_bytes_timeout = kShort;
    observer_.on_head = [](OriginFetch& f) { f.pause_body(); };
    const int fd = exchange();
    LoopbackOrigin::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    run_for(worker_, 3 * kShort);
    EXPECT_THAT(observer_.calls, ElementsAre("head 200"));
    ASSERT_TRUE(fetch().active());
    fetch().resume_body();
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "hello");
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

// `retries: 0` here (the fixture's): the stale-connection retry is the only one.
TEST_F(OriginFetchTest, OnlyOneStaleConnectionRetry) {
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
    EXPECT_EQ(failures(), 1u);
    settle(worker_);
    EXPECT_EQ(pool().open_count(0), 0u);
}

} // namespace
} // namespace lacquer::origin
