// Stored objects end to end: what a hit looks like (Age, Via, the very same bytes, no origin
// request), HEAD and conditional requests answered from cache, the responses that must never be
// stored, the route's TTL, and eviction under a small memory budget. Each request from
// proxy.get() uses a new connection, so hits may come from either worker. Expiry, refetch and
// stale-if-error, which need the time to pass, are in inproc_freshness_test.cc (manual clock).
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ostream>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s, stale: 1s }
)";

// Every byte value, CR LF and NUL included, so that a hit must copy nothing wrong.
std::string binary_body(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        body[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
    }
    return body;
}

TEST(CacheHit, SecondRequestIsServedFromMemoryByteForByte) {
    ScriptedOrigin origin;
    const std::string body = binary_body(70'001);
    origin.on_get("/c/bytes", [&](OriginExchange& x) {
        x.respond(200,
                  {{"Content-Type", "application/octet-stream"}, {"Cache-Control", "max-age=600"}},
                  body);
    });
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    Response miss = proxy.get("/c/bytes");
    ASSERT_TRUE(miss.complete) << miss.summary();
    EXPECT_EQ(miss.header("Cache-Status"), kStored);
    EXPECT_TRUE(miss.body == body);

    origin.on_get("/c/bytes", [](OriginExchange& x) { x.send(500, "origin must not be asked"); });
    Response hit = proxy.get("/c/bytes");
    ASSERT_TRUE(hit.complete) << hit.summary();
    EXPECT_EQ(hit.status, 200);
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_EQ(hit.body.size(), body.size());
    EXPECT_TRUE(hit.body == body) << "the hit's body differs from the stored one";
    EXPECT_EQ(hit.header("Content-Type"), "application/octet-stream");
    EXPECT_EQ(hit.header("Via"), "1.1 lacquer");
    const long age = age_of(hit);
    EXPECT_GE(age, 0) << "Age: '" << hit.header("Age") << "'";
    EXPECT_LE(age, 1);
    EXPECT_EQ(fetches(origin, "/c/bytes"), 1u);
}

// The stored head leaves out the standard status line, lacquer's own Via and an IMF-fixdate
// Date (delivery writes them): a hit must still look like the miss, with the origin's Date, its
// Via first and its own reason phrase when it is not the standard one.
TEST(CacheHit, StatusLineDateAndViaAreTheMisssOnAHitAndA304) {
    // An old Date makes an old response (RFC 9111 §4.2.3 apparent_age): the longest max-age
    // (2^31 s, about 68 years) keeps this 1994 one fresh.
    constexpr char kDate[] = "Sun, 06 Nov 1994 08:49:37 GMT";
    ScriptedOrigin origin;
    origin.on_get("/c/plain", [&](OriginExchange& x) {
        x.respond(200,
                  {{"Date", kDate},
                   {"Cache-Control", "max-age=2147483648"},
                   {"Via", "1.1 edge"},
                   {"ETag", "\"p\""}},
                  "plain");
    });
    origin.on_get("/c/custom", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 All Good\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                   "Cache-Control: max-age=2147483648\r\nContent-Length: 6\r\n\r\ncustom");
    });
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    for (const std::string_view status : {kStored, kHit}) {
        const Response plain = proxy.get("/c/plain");
        ASSERT_TRUE(plain.complete) << plain.summary();
        EXPECT_EQ(plain.header("Cache-Status"), status);
        EXPECT_EQ(plain.status, 200);
        EXPECT_EQ(plain.reason, "OK");
        std::vector<std::string> via;
        for (const auto& [name, value] : plain.headers) {
            if (name == "Via") {
                via.push_back(value);
            }
        }
        // One line on the miss, the origin's then ours on a hit: the same list either way.
        const std::vector<std::string> want =
            status == kStored ? std::vector<std::string>{"1.1 edge, 1.1 lacquer"}
                              : std::vector<std::string>{"1.1 edge", "1.1 lacquer"};
        EXPECT_EQ(via, want) << status;
        EXPECT_EQ(plain.header("Date"), kDate) << status;
        EXPECT_EQ(plain.body, "plain");

        const Response custom = proxy.get("/c/custom");
        ASSERT_TRUE(custom.complete) << custom.summary();
        EXPECT_EQ(custom.header("Cache-Status"), status);
        EXPECT_EQ(custom.reason, "All Good"); // and the Date after it, not before
        EXPECT_EQ(custom.header("Date"), kDate);
        EXPECT_EQ(custom.header("Via"), "1.1 lacquer");
        EXPECT_EQ(custom.body, "custom");
    }
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    const Response not_modified = client.get("/c/plain", {{"If-None-Match", "\"p\""}});
    ASSERT_TRUE(not_modified.complete) << not_modified.summary();
    EXPECT_EQ(not_modified.status, 304);
    EXPECT_EQ(not_modified.reason, "Not Modified");
    EXPECT_EQ(not_modified.header("ETag"), "\"p\"");
    EXPECT_EQ(not_modified.header("Via"), "1.1 edge");
    EXPECT_EQ(not_modified.header("Date"), kDate);
    EXPECT_EQ(fetches(origin, "/c/plain"), 1u);
    EXPECT_EQ(fetches(origin, "/c/custom"), 1u);
}

TEST(CacheHit, AgeIncludesTheAgeTheOriginReported) {
    ScriptedOrigin origin;
    origin.on_get("/c/aged", numbered("aged", {{"Cache-Control", "max-age=1000"}, {"Age", "100"}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/c/aged").header("Cache-Status"), kStored);
    Response hit = proxy.get("/c/aged");
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, "aged #1");
    EXPECT_GE(age_of(hit), 100) << "Age: '" << hit.header("Age") << "'";
    EXPECT_LE(age_of(hit), 101);
}

TEST(CacheHit, ChunkedOriginResponseIsStoredWhole) {
    ScriptedOrigin origin;
    origin.on_get("/c/chunked", [](OriginExchange& x) {
        x.send_head(200, {{"Transfer-Encoding", "chunked"}, {"Cache-Control", "max-age=600"}});
        x.send_body_chunk("first,");
        x.send_body_chunk(std::string(20'000, 'm'));
        x.send_body_chunk(",last");
        x.finish_body();
    });
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    Response miss = proxy.get("/c/chunked");
    ASSERT_TRUE(miss.complete) << miss.summary();
    EXPECT_EQ(miss.header("Cache-Status"), kStored);
    Response hit = proxy.get("/c/chunked");
    ASSERT_TRUE(hit.complete) << hit.summary();
    EXPECT_EQ(hit.header("Cache-Status"), kHit);
    EXPECT_TRUE(hit.body == miss.body);
    EXPECT_EQ(hit.body.size(), 6u + 20'000u + 5u);
    EXPECT_EQ(fetches(origin, "/c/chunked"), 1u);
}

TEST(CacheHead, HeadMissIsFetchedAsGetAndStoredForLaterGets) {
    ScriptedOrigin origin;
    origin.on_get("/c/head-miss", numbered("head body", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));

    Response head = client.request("HEAD", "/c/head-miss");
    ASSERT_TRUE(head.complete) << head.summary();
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), std::to_string(std::string("head body #1").size()));
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(head.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->method, "GET");

    // Same connection: had a body followed the HEAD answer, this read would see it.
    Response get = client.get("/c/head-miss");
    ASSERT_TRUE(get.complete) << get.summary();
    EXPECT_EQ(get.body, "head body #1");
    EXPECT_EQ(get.header("Cache-Status"), kHit);
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(CacheHead, HeadAfterAStoredGetIsAHitWithoutBody) {
    ScriptedOrigin origin;
    origin.on_get("/c/head-hit", numbered("x", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));

    EXPECT_EQ(client.get("/c/head-hit").header("Cache-Status"), kStored);
    Response head = client.request("HEAD", "/c/head-hit");
    ASSERT_TRUE(head.complete) << head.summary();
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Cache-Status"), kHit);
    EXPECT_EQ(head.header("Content-Length"), "4"); // "x #1"
    EXPECT_EQ(head.body, "");
    Response again = client.get("/c/head-hit");
    EXPECT_EQ(again.body, "x #1") << again.summary();
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(CacheConditional, MatchingIfNoneMatchGets304FromCache) {
    ScriptedOrigin origin;
    origin.on_get("/c/etag",
                  numbered("tagged", {{"Cache-Control", "max-age=600"}, {"ETag", "\"v1\""}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));

    EXPECT_EQ(client.get("/c/etag").header("Cache-Status"), kStored);
    Response not_modified = client.get("/c/etag", {{"If-None-Match", "\"v1\""}});
    ASSERT_TRUE(not_modified.complete) << not_modified.summary();
    EXPECT_EQ(not_modified.status, 304);
    EXPECT_EQ(not_modified.body, "");
    EXPECT_EQ(not_modified.header("ETag"), "\"v1\"");

    Response other = client.get("/c/etag", {{"If-None-Match", "\"v0\", \"v2\""}});
    EXPECT_EQ(other.status, 200) << other.summary();
    EXPECT_EQ(other.body, "tagged #1");
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(CacheConditional, IfModifiedSinceAtOrAfterLastModifiedGets304FromCache) {
    ScriptedOrigin origin;
    origin.on_get("/c/dated", numbered("dated", {{"Cache-Control", "max-age=600"},
                                                 {"Last-Modified", "Tue, 01 Apr 2025 10:00:00 GMT"},
                                                 {"ETag", "\"d1\""}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/c/dated").header("Cache-Status"), kStored);
    for (const char* since : {"Tue, 01 Apr 2025 10:00:00 GMT", "Wed, 02 Apr 2025 08:00:00 GMT"}) {
        Response r = proxy.get("/c/dated", {{"If-Modified-Since", since}});
        EXPECT_EQ(r.status, 304) << since << ": " << r.summary();
        EXPECT_EQ(r.body, "");
    }
    Response older =
        proxy.get("/c/dated", {{"If-Modified-Since", "Mon, 31 Mar 2025 10:00:00 GMT"}});
    EXPECT_EQ(older.status, 200) << older.summary();
    EXPECT_EQ(older.body, "dated #1");
    // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2): a different tag means 200.
    Response tag_differs =
        proxy.get("/c/dated", {{"If-None-Match", "\"other\""},
                               {"If-Modified-Since", "Wed, 02 Apr 2025 08:00:00 GMT"}});
    EXPECT_EQ(tag_differs.status, 200) << tag_differs.summary();
    EXPECT_EQ(tag_differs.body, "dated #1");
    EXPECT_EQ(origin.total_requests(), 1u);
}

struct UncacheableCase {
    const char* name;
    int status;
    HeaderFields headers;
    const char* reason; // the detail= of Cache-Status
};

// Names the case in test listings instead of gtest's byte dump.
void PrintTo(const UncacheableCase& c, std::ostream* os) {
    *os << c.name;
}

class CacheNotStored : public ::testing::TestWithParam<UncacheableCase> {};

TEST_P(CacheNotStored, NextIdenticalRequestGoesToTheOriginAgain) {
    const UncacheableCase& c = GetParam();
    ScriptedOrigin origin;
    origin.on_get("/c/uncacheable", numbered("answer", c.headers, c.status));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/c/uncacheable");
    ASSERT_TRUE(first.complete) << first.summary();
    EXPECT_EQ(first.status, c.status);
    EXPECT_EQ(first.body, "answer #1");
    EXPECT_EQ(first.header("Cache-Status"), not_stored(c.reason));

    Response second = proxy.get("/c/uncacheable");
    ASSERT_TRUE(second.complete) << second.summary();
    EXPECT_EQ(second.body, "answer #2");
    EXPECT_THAT(second.header("Cache-Status"), Not(HasSubstr("hit")));
    EXPECT_EQ(fetches(origin, "/c/uncacheable"), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Responses, CacheNotStored,
    ::testing::Values(
        UncacheableCase{"NoStore", 200, {{"Cache-Control", "no-store"}}, "no_store"},
        UncacheableCase{"Private", 200, {{"Cache-Control", "private, max-age=600"}}, "private"},
        UncacheableCase{"SetCookie",
                        200,
                        {{"Cache-Control", "max-age=600"}, {"Set-Cookie", "session=abc; Path=/"}},
                        "set_cookie"},
        UncacheableCase{
            "VaryStar", 200, {{"Cache-Control", "max-age=600"}, {"Vary", "*"}}, "vary_star"},
        // RFC 9111 §3: a 5xx without explicit freshness is not stored.
        UncacheableCase{
            "Status500", 500, {{"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}}, "status"}),
    [](const ::testing::TestParamInfo<UncacheableCase>& param) { return param.param.name; });

TEST(CacheNotStoredBody, LargerThanMaxObjectSizeIsStreamedButNotStored) {
    ScriptedOrigin origin;
    const std::string big = binary_body(1536 * 1024); // storage.max_object_size is 1 MiB
    origin.on_get("/c/too-large", [&](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=600"}}, big); // with Content-Length
    });
    origin.on_get("/c/too-large-chunked", [&](OriginExchange& x) {
        x.send_head(200, {{"Cache-Control", "max-age=600"}, {"Transfer-Encoding", "chunked"}});
        for (std::size_t off = 0; off < big.size(); off += 64 * 1024) {
            x.send_body_chunk(std::string_view(big).substr(off, 64 * 1024));
        }
        x.finish_body();
    });
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    for (int i = 1; i <= 2; ++i) {
        Response r = proxy.get("/c/too-large", {}, 10s);
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_TRUE(r.body == big);
        EXPECT_EQ(r.header("Cache-Status"), not_stored("too_large")) << "request " << i;
    }
    EXPECT_EQ(fetches(origin, "/c/too-large"), 2u);

    // Chunked: the size is only known once the head has gone, so Cache-Status cannot tell;
    // what is promised is that nothing is stored.
    for (int i = 1; i <= 2; ++i) {
        Response r = proxy.get("/c/too-large-chunked", {}, 10s);
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_TRUE(r.body == big);
        EXPECT_THAT(r.header("Cache-Status"), Not(HasSubstr("hit")));
    }
    EXPECT_EQ(fetches(origin, "/c/too-large-chunked"), 2u);
    EXPECT_TRUE(proxy.is_running());
}

TEST(CacheNotStoredBody, ResponseTruncatedByTheOriginIsNotStored) {
    ScriptedOrigin origin;
    origin.on_get("/c/truncated", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nCache-Control: max-age=600\r\n\r\n" +
                   std::string(500, 't'));
        x.close();
    });
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));

    Response cut = client.get("/c/truncated");
    EXPECT_FALSE(cut.complete) << cut.summary();
    EXPECT_TRUE(client.is_closed_by_peer(5s));
    const std::size_t after_cut = fetches(origin, "/c/truncated");
    EXPECT_GE(after_cut, 1u);

    origin.on_get("/c/truncated", numbered("whole", {{"Cache-Control", "max-age=600"}}));
    Response whole = proxy.get("/c/truncated");
    ASSERT_TRUE(whole.complete) << whole.summary();
    EXPECT_EQ(whole.body, "whole #1");
    EXPECT_THAT(whole.header("Cache-Status"), Not(HasSubstr("hit")));
    EXPECT_EQ(fetches(origin, "/c/truncated"), after_cut + 1);
}

TEST(CacheFreshness, RouteTtlAppliesWhenTheOriginGivesNoFreshness) {
    ScriptedOrigin origin;
    origin.on_get("/c/no-freshness", numbered("ttl", {{"Content-Type", "text/plain"}}));
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/c/no-freshness").header("Cache-Status"), kStored);
    Response hit = proxy.get("/c/no-freshness");
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, "ttl #1");
    EXPECT_EQ(fetches(origin, "/c/no-freshness"), 1u);
}

// 64 objects of 16 KiB, each asked once, through a 256 KiB budget under `policy`: how many are
// kept in all, of the 8 newest and of the 8 oldest.
struct Kept {
    int all = 0;
    int recent = 0;
    int early = 0;
};
Kept kept_after_filling(const char* policy) {
    Kept out;
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        std::string body(16 * 1024, 'e');
        body.replace(0, x.request().path.size(), x.request().path);
        x.respond(200, {{"Cache-Control", "max-age=600"}}, body);
    });
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .storage("memory", "256KiB")
                             .storage("max_object_size", "64KiB")
                             .storage("eviction", policy)
                             .admin()
                             .extra(std::string(kRoutes)));
    EXPECT_TRUE(proxy.started());
    if (!proxy.started()) {
        return out;
    }

    constexpr int kKeys = 64; // 1 MiB of bodies for a 256 KiB budget
    const auto path = [](int i) { return "/c/evict/" + std::to_string(i); };
    for (int i = 0; i < kKeys; ++i) {
        Response r = proxy.get(path(i));
        EXPECT_TRUE(r.complete) << path(i) << ": " << r.summary();
        EXPECT_EQ(r.body.size(), 16u * 1024);
    }
    EXPECT_TRUE(proxy.is_running());
    EXPECT_EQ(origin.total_requests(), static_cast<std::size_t>(kKeys));

    // What the store holds, asked without a request that would store again and evict another
    // object (GET /debug/object on the admin listener).
    const std::string host = "127.0.0.1%3A" + std::to_string(proxy.port());
    const auto stored = [&](int i) {
        HttpClient admin;
        EXPECT_TRUE(admin.connect(proxy.admin_port()));
        const Response r =
            admin.get("/debug/object?url=%2Fc%2Fevict%2F" + std::to_string(i) + "&host=" + host);
        EXPECT_EQ(r.status, 200) << r.summary();
        return r.body.find("\"objects\": [{") != std::string::npos;
    };
    for (int i = 0; i < kKeys; ++i) {
        const bool in = stored(i);
        out.all += in ? 1 : 0;
        out.recent += in && i >= kKeys - 8 ? 1 : 0;
        out.early += in && i < 8 ? 1 : 0;
    }
    EXPECT_TRUE(proxy.is_running());
    return out;
}

TEST(CacheEviction, SmallMemoryBudgetEvictsTheOldestObjectsUnderS3Fifo) {
    const Kept kept = kept_after_filling("s3fifo");
    // About 15 objects of 16 KiB fit. The store is 64 shards under one hand, so "oldest" is
    // approximate: a simulation of the hand keeps 5 to 8 of the 8 newest (3 in 0.03% of
    // placements), and each shard gives up its oldest object first.
    EXPECT_GE(kept.all, 8) << "the budget holds about 15 objects";
    EXPECT_LE(kept.all, 16) << "more than the budget holds";
    EXPECT_GE(kept.recent, 3) << "of the 8 newest objects, only " << kept.recent << " are kept";
    EXPECT_LE(kept.early, 2) << "of the 8 oldest objects, " << kept.early << " are kept";
}

TEST(CacheEviction, SmallMemoryBudgetUnderTinyLfuKeepsWhatItHasAgainstObjectsAskedOnce) {
    // The default policy: an object asked once is admitted only over one asked less often, and
    // a tie keeps what the store has, so the first objects stay and the later ones pass.
    const Kept kept = kept_after_filling("tinylfu");
    EXPECT_GE(kept.all, 8) << "the budget holds about 15 objects";
    EXPECT_LE(kept.all, 16) << "more than the budget holds";
    EXPECT_GE(kept.early, 6) << "of the 8 oldest objects, only " << kept.early << " are kept";
    EXPECT_LE(kept.recent, 2) << "of the 8 newest objects, " << kept.recent << " are kept";
}

} // namespace
} // namespace lacquer::test
