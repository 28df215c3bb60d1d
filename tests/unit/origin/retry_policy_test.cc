// decide_retry (which failures are tried again) and RetryBudget (how many), without sockets.
#include "lacquer/origin/retry_budget.h"
#include "lacquer/origin/retry_policy.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace lacquer::origin {
namespace {

using namespace std::chrono_literals;
using R = RetryReason;
using V = RetryVerdict;

struct Case {
    const char* name;
    FailedAttempt attempt;
    RetryRules rules;
    RetryVerdict expected;
};

const RetryRules kDefault{};                  // retries 1, no 503, idempotent only
const RetryRules kOn503{1, true, false};      // retry_on_503
const RetryRules kAnyMethod{1, false, true};  // retry_non_idempotent
const RetryRules kNoRetries{0, false, false}; // retries 0
const Case kCases[] = {
    // Nothing reached the origin: any method.
    {"ConnectFailedGet", {R::ConnectFailed, true, 0, false}, kDefault, V::Retry},
    {"ConnectFailedPost", {R::ConnectFailed, false, 0, false}, kDefault, V::Retry},
    {"ConnectTimeoutPost", {R::ConnectTimeout, false, 0, false}, kDefault, V::Retry},
    {"ConnectFailedAfterTheRetry", {R::ConnectFailed, true, 1, false}, kDefault, V::Exhausted},
    {"ConnectFailedWithRetries0", {R::ConnectFailed, true, 0, false}, kNoRetries, V::Exhausted},
    // A stale keep-alive connection: any method, once, whatever `retries` says.
    {"StaleGet", {R::StaleConnection, true, 0, false}, kDefault, V::Retry},
    {"StalePost", {R::StaleConnection, false, 0, false}, kDefault, V::Retry},
    {"StalePostWithRetries0", {R::StaleConnection, false, 0, false}, kNoRetries, V::Retry},
    {"StaleAfterRetriesUsed", {R::StaleConnection, true, 1, false}, kDefault, V::Retry},
    {"SecondStale", {R::StaleConnection, true, 0, true}, kDefault, V::Exhausted},
    // A fresh connection closed: the origin may have acted; idempotent only.
    {"ClosedGet", {R::Closed, true, 0, false}, kDefault, V::Retry},
    {"ClosedPost", {R::Closed, false, 0, false}, kDefault, V::Unsafe},
    {"ClosedPostNonIdempotentAllowed", {R::Closed, false, 0, false}, kAnyMethod, V::Retry},
    {"ClosedGetAfterTheRetry", {R::Closed, true, 1, true}, kDefault, V::Exhausted},
    // A 503 without a delay: only when asked, idempotent only.
    {"UnavailableNotAsked", {R::Unavailable, true, 0, false}, kDefault, V::NotAsked},
    {"UnavailableGet", {R::Unavailable, true, 0, false}, kOn503, V::Retry},
    {"UnavailablePost", {R::Unavailable, false, 0, false}, kOn503, V::Unsafe},
    {"UnavailableAfterTheRetry", {R::Unavailable, true, 1, false}, kOn503, V::Exhausted},
};

class RetryDecision : public ::testing::TestWithParam<Case> {};

TEST_P(RetryDecision, IsTheTableRow) {
    const Case& c = GetParam();
    EXPECT_EQ(retry_verdict_name(decide_retry(c.attempt, c.rules)), retry_verdict_name(c.expected));
}

INSTANTIATE_TEST_SUITE_P(Table, RetryDecision, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RetryPolicy, IdempotentMethodsAreThoseOfRfc9110) {
    for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        EXPECT_TRUE(is_idempotent(m)) << m;
    }
    for (const char* m : {"POST", "PATCH", "CONNECT", "LOCK", "get", ""}) {
        EXPECT_FALSE(is_idempotent(m)) << m;
    }
}

TEST(RetryPolicy, RetryAfterAllowsARetryOnlyWhenAbsentOrZero) {
    EXPECT_TRUE(retry_after_allows_retry(nullptr));
    for (std::string_view v : {"0", " 0 ", "00", ""}) {
        EXPECT_TRUE(retry_after_allows_retry(&v)) << v;
    }
    for (std::string_view v : {"1", "120", "Fri, 31 Dec 1999 23:59:59 GMT", "-1", "0.5"}) {
        EXPECT_FALSE(retry_after_allows_retry(&v)) << v;
    }
}

TEST(RetryPolicy, ReasonNamesAreTheMetricLabels) {
    EXPECT_EQ(retry_reason_name(R::ConnectFailed), "connect_failed");
    EXPECT_EQ(retry_reason_name(R::ConnectTimeout), "connect_timeout");
    EXPECT_EQ(retry_reason_name(R::StaleConnection), "stale_connection");
    EXPECT_EQ(retry_reason_name(R::Closed), "closed");
    EXPECT_EQ(retry_reason_name(R::Unavailable), "unavailable");
}

const core::Instant kStart = core::Instant{} + 1000h;

TEST(RetryBudget, AQuietPoolStillGetsTheMinimum) {
    RetryBudget budget(20);
    budget.record_request(kStart);
    for (std::uint32_t i = 0; i < RetryBudget::kMinRetries; ++i) {
        EXPECT_TRUE(budget.try_retry(kStart)) << i;
    }
    EXPECT_FALSE(budget.try_retry(kStart));
}

TEST(RetryBudget, ABusyPoolGetsItsShare) {
    RetryBudget budget(20);
    for (int i = 0; i < 1000; ++i) {
        budget.record_request(kStart + std::chrono::milliseconds(i * 5)); // 5 s of traffic
    }
    const core::Instant now = kStart + 5s;
    int granted = 0;
    while (granted < 1000 && budget.try_retry(now)) {
        ++granted;
    }
    EXPECT_EQ(granted, 200); // 20% of the window's 1000 requests
}

TEST(RetryBudget, TheWindowSlides) {
    RetryBudget budget(20);
    for (int i = 0; i < 100; ++i) {
        budget.record_request(kStart);
    }
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(budget.try_retry(kStart));
    }
    EXPECT_FALSE(budget.try_retry(kStart + 9s)); // still inside the 10 s window
    const RetryBudget::Window later = budget.window(kStart + 10s);
    EXPECT_EQ(later.requests, 0u); // the second that held them has left the window
    EXPECT_EQ(later.retries, 0u);
    EXPECT_TRUE(budget.try_retry(kStart + 10s)); // the minimum again
}

TEST(RetryBudget, WorkersSharingItStayNearTheBound) {
    RetryBudget budget(20);
    constexpr int kThreads = 4;
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                budget.record_request(kStart);
                if (budget.try_retry(kStart)) {
                    ++granted;
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    // 2000 requests: 400 retries, give or take one per racing thread.
    EXPECT_GE(granted.load(), 390);
    EXPECT_LE(granted.load(), 400 + kThreads);
    EXPECT_EQ(budget.window(kStart).requests, 2000u);
}

} // namespace
} // namespace lacquer::origin
