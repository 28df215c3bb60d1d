// OriginFetch's retries against real loopback servers: which failures are tried again, where
// (another server, a fresh connection), with the request body sent again whole, and where the
// pool's retry budget stops them. The decision itself is retry_policy_test.cc's.
#include "origin_fetch_fixture.h"

namespace lacquer::origin::fetch_testing {
namespace {

using loopback::run_for;
using ::testing::ElementsAre;

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

class OriginFetchRetryTest : public OriginFetchTest {
protected:
    OriginFetchRetryTest() { spec_.retry.retries = 1; }
    // A second server, `other_`, listed after origin_ (round robin picks origin_ first).
    void add_other() {
        spec_.servers.push_back({other_.address(), "other.test:80", 1, {}, {"other.test", 80}});
    }
    void give_budget(std::uint32_t percent) {
        config::OriginRetryConfig retry;
        retry.budget_percent = percent;
        spec_.guard = std::make_shared<PoolGuard>(retry, config::OriginAdmissionConfig{});
    }

    LoopbackOrigin other_;
};

TEST_F(OriginFetchRetryTest, AGetClosedBeforeAnyByteOnAFreshConnectionGoesToAnotherServer) {
    add_other();
    const int fd = exchange("/x");
    origin_.close(fd); // the server died with the request
    const int again = other_.accept(worker_);
    EXPECT_EQ(other_.read_head(worker_, again), get_head("/x"));
    LoopbackOrigin::send_all(again, kOk);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(retries(RetryReason::Closed), 1u);
    EXPECT_EQ(origin_.accepted(), 1); // not the failed server again
}

TEST_F(OriginFetchRetryTest, ARefusedConnectGoesToAnotherServer) {
    add_other();
    origin_.close_listener();
    start_get("/x");
    const int fd = other_.accept(worker_);
    EXPECT_EQ(other_.read_head(worker_, fd), get_head("/x"));
    LoopbackOrigin::send_all(fd, kOk);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(retries(RetryReason::ConnectFailed), 1u);
}

TEST_F(OriginFetchRetryTest, WithOneServerTheRetryIsAFreshConnectionToIt) {
    const int fd = exchange("/x");
    origin_.reset(fd);
    const int again = origin_.accept(worker_);
    EXPECT_EQ(origin_.read_head(worker_, again), get_head("/x"));
    LoopbackOrigin::send_all(again, kOk);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(origin_.accepted(), 2);
}

TEST_F(OriginFetchRetryTest, RetriesStopAtTheConfiguredCount) {
    spec_.retry.retries = 2;
    for (int attempt = 0; attempt < 3; ++attempt) {
        const int fd = attempt == 0 ? exchange("/x") : origin_.accept(worker_);
        if (attempt > 0) {
            origin_.read_head(worker_, fd);
        }
        origin_.close(fd);
    }
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("failed Closed before head"));
    run_for(worker_, 30ms);
    EXPECT_EQ(origin_.try_accept(), -1);
    EXPECT_EQ(origin_.accepted(), 3);
    EXPECT_EQ(retries(RetryReason::Closed), 2u);
}

// A POST the origin may have acted on is never sent twice.
TEST_F(OriginFetchRetryTest, APostClosedBeforeAnyByteOnAFreshConnectionIsNotRetried) {
    add_other();
    observer_.on_body_wanted = [](OriginFetch& f) {
        f.upstream()->write("ab");
        f.request_sent();
    };
    fetch().start(pool(), "POST /up HTTP/1.1\r\nHost: o\r\nContent-Length: 2\r\n\r\n", "POST",
                  /*body_follows=*/true, 0);
    const int fd = origin_.accept(worker_);
    origin_.read_head(worker_, fd);
    origin_.close(fd);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("failed Closed before head"));
    run_for(worker_, 30ms);
    EXPECT_EQ(other_.try_accept(), -1);
    EXPECT_EQ(retries(RetryReason::Closed), 0u);
}

// The origin closed a kept connection while it was idle: the POST it never read goes again, body
// and all, on a fresh connection.
TEST_F(OriginFetchRetryTest, APostOnAStaleKeepAliveConnectionIsSentAgainWhole) {
    spec_.retry.retries = 0; // not needed: the stale-connection retry is not counted
    const int first = exchange("/one");
    LoopbackOrigin::send_all(first, kOk);
    ASSERT_TRUE(wait_end());
    observer_.clear();

    observer_.on_body_wanted = [](OriginFetch& f) {
        f.upstream()->write("ab");
        f.request_sent();
    };
    const std::string head = "POST /up HTTP/1.1\r\nHost: o\r\nContent-Length: 2\r\n\r\n";
    fetch().start(pool(), head, "POST", /*body_follows=*/true, 0);
    origin_.read_head(worker_, first);
    origin_.close(first);
    const int second = origin_.accept(worker_);
    std::string body;
    EXPECT_EQ(origin_.read_head(worker_, second, &body), head);
    EXPECT_TRUE(run_until(worker_, [&] {
        LoopbackOrigin::read_available(second, body);
        return body.size() >= 2;
    }));
    EXPECT_EQ(body, "ab");
    LoopbackOrigin::send_all(second, kOk);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body_wanted, 2);
    EXPECT_EQ(retries(RetryReason::StaleConnection), 1u);
}

TEST_F(OriginFetchRetryTest, A503WithoutRetryAfterIsRetriedOnlyWhenAsked) {
    add_other();
    const int fd = exchange("/x");
    LoopbackOrigin::send_all(fd, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 503", "done")); // retry_on_503 is off

    pool_.reset();
    settle(worker_);
    observer_.clear();
    spec_.retry.on_503 = true;
    const int again = exchange("/y");
    LoopbackOrigin::send_all(again, "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy");
    const int other = other_.accept(worker_);
    other_.read_head(worker_, other);
    LoopbackOrigin::send_all(other, kOk);
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 200", "body", "done"));
    EXPECT_EQ(observer_.body, "ok"); // nothing of the 503
    EXPECT_EQ(retries(RetryReason::Unavailable), 1u);
}

TEST_F(OriginFetchRetryTest, A503WithARetryAfterDelayIsTheAnswer) {
    add_other();
    spec_.retry.on_503 = true;
    const int fd = exchange("/x");
    LoopbackOrigin::send_all(fd,
                             "HTTP/1.1 503 Busy\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(wait_end());
    EXPECT_THAT(observer_.calls, ElementsAre("head 503", "done"));
    EXPECT_EQ(other_.try_accept(), -1);
}

// Every server refuses: each request makes its first attempt, and retries stop once they pass
// the budget (here 0%: only the window's minimum), however many each request may make.
TEST_F(OriginFetchRetryTest, TheBudgetBoundsRetriesWhenEveryServerIsDown) {
    add_other();
    spec_.retry.retries = 3;
    origin_.close_listener();
    other_.close_listener();
    give_budget(0);
    constexpr int kRequests = 30;
    for (int i = 0; i < kRequests; ++i) {
        observer_.clear();
        start_get("/x");
        ASSERT_TRUE(wait_end());
        EXPECT_THAT(observer_.calls, ElementsAre("failed ConnectFailed before head"));
    }
    EXPECT_EQ(retries(RetryReason::ConnectFailed), RetryBudget::kMinRetries);
    // Requests 1-3 made their 3 retries each, the 4th one retry before the budget said no,
    // every later one none.
    static_assert(RetryBudget::kMinRetries == 10);
    EXPECT_EQ(budget_exhausted(), static_cast<std::uint64_t>(kRequests - 3));
}

} // namespace
} // namespace lacquer::origin::fetch_testing
