// Range requests answered from the cache (RFC 9110 §14, RFC 9111 §3.4) in a whole server: a
// stored complete response answers `Range: bytes=` with 206 and Content-Range, If-Range picks
// between the range and the whole answer, an unsatisfiable range is 416, and a range request
// that misses fetches (and stores) the whole object without forwarding Range.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
)";
constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kLastModified = "Sun, 06 Nov 1994 08:49:37 GMT";
// The manual clock's start (unix 1,700,000,000): the answer is 0 s old when it arrives (RFC
// 9111 §4.2.3), and Last-Modified is long before it (a strong validator for If-Range).
constexpr std::string_view kDate = "Tue, 14 Nov 2023 22:13:20 GMT";

OriginHandler digits(std::string_view etag = "\"d1\"") {
    return [etag = std::string(etag)](OriginExchange& x) {
        x.respond(200,
                  {{"Cache-Control", "max-age=600"},
                   {"ETag", etag},
                   {"Last-Modified", std::string(kLastModified)},
                   {"Date", std::string(kDate)},
                   {"Content-Type", "text/plain"}},
                  kDigits);
    };
}

// A proxy whose cache holds the digits at `path` (one origin fetch).
class RangeFromCache : public ::testing::Test {
protected:
    InProcessLacquer& store_digits(std::string_view path) {
        origin_.on_get(path, digits());
        proxy_ = std::make_unique<InProcessLacquer>(caching_config(origin_, kRoutes));
        EXPECT_TRUE(proxy_->started());
        EXPECT_EQ(proxy_->get(path).body, kDigits);
        return *proxy_;
    }
    ScriptedOrigin origin_;
    std::unique_ptr<InProcessLacquer> proxy_;
};

TEST_F(RangeFromCache, Rfc9110Section14_4AHitAnswersARangeWith206) {
    InProcessLacquer& proxy = store_digits("/c/digits");

    const Response part = proxy.get("/c/digits", {{"Range", "bytes=2-5"}});
    EXPECT_EQ(part.status, 206) << part.summary();
    EXPECT_EQ(part.body, "2345");
    EXPECT_EQ(part.header("Content-Range"), "bytes 2-5/10");
    EXPECT_EQ(part.header("Content-Length"), "4");
    EXPECT_EQ(part.header("Content-Type"), "text/plain");
    EXPECT_EQ(part.header("ETag"), "\"d1\"");
    EXPECT_EQ(part.header("Cache-Status"), kHit);

    const Response suffix = proxy.get("/c/digits", {{"Range", "bytes=-3"}});
    EXPECT_EQ(suffix.status, 206) << suffix.summary();
    EXPECT_EQ(suffix.body, "789");
    EXPECT_EQ(suffix.header("Content-Range"), "bytes 7-9/10");
    const Response open_ended = proxy.get("/c/digits", {{"Range", "bytes=8-"}});
    EXPECT_EQ(open_ended.body, "89");
    EXPECT_EQ(open_ended.header("Content-Range"), "bytes 8-9/10");
    EXPECT_EQ(origin_.count("/c/digits"), 1u);
}

TEST_F(RangeFromCache, Rfc9110Section15_5_17AnUnsatisfiableRangeIs416) {
    InProcessLacquer& proxy = store_digits("/c/short");
    const Response refused = proxy.get("/c/short", {{"Range", "bytes=10-20"}});
    EXPECT_EQ(refused.status, 416) << refused.summary();
    EXPECT_EQ(refused.header("Content-Range"), "bytes */10");
    EXPECT_EQ(refused.body, "");
    // The connection goes on: the 416 was framed.
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    EXPECT_EQ(client.get("/c/short", {{"Range", "bytes=99-"}}).status, 416);
    EXPECT_EQ(client.get("/c/short").body, kDigits);
}

TEST_F(RangeFromCache, Rfc9110Section14_2SeveralRangesAndInvalidOnesGetTheWhole200) {
    InProcessLacquer& proxy = store_digits("/c/multi");
    for (const char* range : {"bytes=0-1,4-5", "bytes=5-2", "pages=1-2", "bytes=x"}) {
        const Response whole = proxy.get("/c/multi", {{"Range", range}});
        EXPECT_EQ(whole.status, 200) << range << ": " << whole.summary();
        EXPECT_EQ(whole.body, kDigits) << range;
        EXPECT_FALSE(whole.has_header("Content-Range")) << range;
    }
    // HEAD: range handling is defined for GET only.
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(
        build_request("HEAD", "/c/multi", {{"Range", "bytes=0-1"}}, {}, "127.0.0.1")));
    const Response head = client.read_response(5s, "HEAD");
    EXPECT_EQ(head.status, 200) << head.summary();
    EXPECT_EQ(head.header("Content-Length"), "10");
}

TEST_F(RangeFromCache, Rfc9110Section13_1_5IfRangeAppliesTheRangeOnlyToTheSameVersion) {
    InProcessLacquer& proxy = store_digits("/c/ifrange");
    const auto ask = [&](std::string_view if_range) {
        return proxy.get("/c/ifrange",
                         {{"Range", "bytes=0-1"}, {"If-Range", std::string(if_range)}});
    };
    EXPECT_EQ(ask("\"d1\"").status, 206);
    EXPECT_EQ(ask(kLastModified).status, 206); // a day before Date: a strong validator
    const Response other_tag = ask("\"d0\"");
    EXPECT_EQ(other_tag.status, 200);
    EXPECT_EQ(other_tag.body, kDigits);
    EXPECT_EQ(ask("W/\"d1\"").status, 200); // weak tags never match If-Range
    EXPECT_EQ(ask("Sat, 05 Nov 1994 08:49:37 GMT").status, 200);
}

TEST(RangeMiss, Rfc9111Section3_4ARangeMissFetchesTheWholeObjectStoresItAndAnswersTheRange) {
    ScriptedOrigin origin;
    origin.on_get("/c/miss", digits());
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const Response part = proxy.get("/c/miss", {{"Range", "bytes=3-4"}});
    EXPECT_EQ(part.status, 206) << part.summary();
    EXPECT_EQ(part.body, "34");
    EXPECT_EQ(part.header("Content-Range"), "bytes 3-4/10");
    EXPECT_EQ(part.header("Cache-Status"), kStored);
    ASSERT_EQ(origin.total_requests(), 1u);
    EXPECT_FALSE(origin.requests().back().has_header("Range")) << "Range reached the origin";

    const Response whole = proxy.get("/c/miss");
    EXPECT_EQ(whole.body, kDigits) << whole.summary();
    EXPECT_EQ(whole.header("Cache-Status"), kHit);
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(RangeMiss, Rfc9111Section3_4TheLeaderAndTheRequestsWaitingOnItEachGetTheirRange) {
    Gate release;
    ScriptedOrigin origin;
    const OriginHandler answer = digits();
    origin.on_get("/c/hot", [&release, answer](OriginExchange& x) {
        (void)release.wait_for(10s);
        answer(x);
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    ConcurrentGets gets(proxy.port(), "/c/hot", 4, {{"Range", "bytes=3-4"}});
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 3, 10s));
    release.open();
    for (const Response& r : gets.collect(10s)) {
        EXPECT_EQ(r.status, 206) << r.summary();
        EXPECT_EQ(r.body, "34");
        EXPECT_EQ(r.header("Content-Range"), "bytes 3-4/10");
    }
    EXPECT_EQ(origin.count("/c/hot"), 1u);
}

TEST(RangeMiss, Rfc9111Section3_4AnUnknownLengthMissIsAnsweredWholeAndStored) {
    ScriptedOrigin origin;
    origin.on_get("/c/chunked", [](OriginExchange& x) {
        x.send_head(200, {{"Cache-Control", "max-age=600"}});
        x.send_body(kDigits); // chunked: the length is known only at the end
    });
    InProcessLacquer proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    const Response whole = proxy.get("/c/chunked", {{"Range", "bytes=3-4"}});
    EXPECT_EQ(whole.status, 200) << whole.summary();
    EXPECT_EQ(whole.body, kDigits);
    const Response part = proxy.get("/c/chunked", {{"Range", "bytes=3-4"}});
    EXPECT_EQ(part.status, 206) << part.summary();
    EXPECT_EQ(part.body, "34");
    EXPECT_EQ(origin.total_requests(), 1u);
}

} // namespace
} // namespace lacquer::test
