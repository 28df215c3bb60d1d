// A stored response freshened by a 304 (RFC 9111 §4.3.4) and the header update rules of §3.2,
// as pure functions: the time is passed in (an injected clock), no socket.
#include "lacquer/http/head_parser.h"
#include "proxy/not_modified.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <initializer_list>
#include <string>
#include <utility>

namespace lacquer::proxy {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kDateUnix = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::string_view kBody = "stored body";

http::HeaderList headers(std::initializer_list<std::pair<std::string_view, std::string_view>> l) {
    http::HeaderList out;
    for (const auto& [name, value] : l) {
        out.items[out.count++] = http::Header{name, value};
    }
    return out;
}

http::ResponseHead
not_modified(std::initializer_list<std::pair<std::string_view, std::string_view>> l) {
    http::ResponseHead r;
    r.status = 304;
    r.headers = headers(l);
    return r;
}

// The object as stored at `at`, under max-age=60, with a Date of its own.
cache::ObjectRef stored(core::Instant at, std::string_view head) {
    cache::StoredObject::Fields f;
    f.key = "G\nh\n/p\n\n";
    f.hash = 1;
    f.url_hash = 2;
    f.head = head;
    f.date = static_cast<std::uint32_t>(kDateUnix);
    f.body_size = kBody.size();
    f.stored_at = at;
    f.window.ttl = 60s;
    f.etag = "\"v1\"";
    cache::ObjectRef o(cache::StoredObject::create(f));
    std::copy(kBody.begin(), kBody.end(), o->body_for_fill());
    return o;
}

class Freshen : public ::testing::Test {
protected:
    Freshen() : parser_(http::HeadKind::Request, http::HeadLimits{}) {
        constexpr std::string_view kRequest = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
        EXPECT_EQ(parser_.feed(kRequest.data(), kRequest.size()).status,
                  http::HeadParser::Status::Complete);
        policy_.stale = policy_.stale_if_error = 0s;
    }
    // The 304 arrives `now`, 61 s after the stored Date unless `now_unix` says otherwise.
    Freshened freshen_at(const cache::StoredObject& old, const http::ResponseHead& response,
                         core::Instant now, std::int64_t now_unix = kDateUnix + 61) {
        return freshen(old, response, parser_.request(), policy_, now, now_unix,
                       http::HeadLimits{});
    }
    http::HeadParser parser_;
    cache::FreshnessPolicy policy_;
    const core::Instant t0_ = core::Instant{} + 1000s;
};

TEST(MergeNotModified, Rfc9111Section3_2TheFieldsOfThe304ReplaceTheStoredOnesOfTheirName) {
    const std::string merged = merge_not_modified(
        "Content-Type: text/plain\r\nX-Version: 1\r\nLink: <a>\r\nLink: <b>\r\nETag: \"v1\"\r\n",
        headers({{"X-Version", "2"}, {"Link", "<c>"}, {"X-New", "yes"}}));
    EXPECT_EQ(merged, "Content-Type: text/plain\r\nETag: \"v1\"\r\nX-Version: 2\r\nLink: <c>\r\n"
                      "X-New: yes\r\n");
}

TEST(MergeNotModified, Rfc9111Section3_2ContentLengthAndPerHopFieldsAreNotUpdated) {
    const std::string merged = merge_not_modified("X-Hop: stored\r\nVia: 1.1 origin-cdn\r\n",
                                                  headers({{"Content-Length", "999"},
                                                           {"Transfer-Encoding", "chunked"},
                                                           {"Age", "30"},
                                                           {"Via", "1.1 other"},
                                                           {"Connection", "X-Hop"},
                                                           {"X-Hop", "from the 304"},
                                                           {"Keep-Alive", "timeout=5"}}));
    EXPECT_EQ(merged, "X-Hop: stored\r\nVia: 1.1 origin-cdn\r\n");
}

TEST(MergeNotModified, AStoredStatusLineWithItsOwnReasonStaysFirst) {
    const std::string merged =
        merge_not_modified("HTTP/1.1 200 Fine\r\nX-A: 1\r\n", headers({{"X-A", "2"}}));
    EXPECT_EQ(merged, "HTTP/1.1 200 Fine\r\nX-A: 2\r\n");
}

TEST(NotModifiedMatches, Rfc9111Section4_3_4OnlyA304ForTheStoredRepresentationUpdatesIt) {
    const cache::ObjectRef old = stored(core::Instant{}, "X: 1\r\n"); // ETag "v1"
    EXPECT_TRUE(not_modified_matches(headers({{"ETag", "\"v1\""}}), *old));
    EXPECT_TRUE(not_modified_matches(headers({{"ETag", "W/\"v1\""}}), *old)); // weak comparison
    EXPECT_FALSE(not_modified_matches(headers({{"ETag", "\"v2\""}}), *old));
    EXPECT_FALSE(not_modified_matches(headers({{"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
                                      *old)); // the stored response has no Last-Modified
    EXPECT_TRUE(not_modified_matches(headers({{"Cache-Control", "max-age=5"}}), *old));
}

TEST(WithoutValidators, TheConditionalLinesGoAndTheRestStays) {
    EXPECT_EQ(without_validators("GET /p HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v1\"\r\n"
                                 "if-modified-since: x\r\nAccept: */*\r\n\r\n"),
              "GET /p HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n");
}

TEST_F(Freshen, Rfc9111Section4_3_4The304sFreshnessIsTheObjectsNowAndTheBodyIsKept) {
    const cache::ObjectRef old = stored(t0_, "Cache-Control: max-age=60\r\nX-Version: 1\r\n");
    const core::Instant now = t0_ + 61s;
    const Freshened f =
        freshen_at(*old, not_modified({{"Cache-Control", "max-age=120"}, {"X-Version", "2"}}), now);
    ASSERT_TRUE(f.object);
    EXPECT_TRUE(f.storable);
    // The 304 sent no Date: it is dated when it arrived (RFC 9110 §6.6.1), so it is 0 s old.
    EXPECT_EQ(f.object->window().ttl, 120s);
    EXPECT_EQ(f.object->initial_age(), 0);
    EXPECT_EQ(f.object->stored_at(), now);
    EXPECT_EQ(f.object->status(), 200);
    EXPECT_EQ(std::string_view(f.object->body(), f.object->body_size()), kBody);
    EXPECT_EQ(f.object->etag(), "\"v1\"");
    EXPECT_EQ(f.object->date(), static_cast<std::uint32_t>(kDateUnix + 61)); // when it came
    EXPECT_EQ(f.object->head(), "Cache-Control: max-age=120\r\nX-Version: 2\r\n");
    EXPECT_EQ(f.object->key(), old->key());
}

TEST_F(Freshen, Rfc9111Section4_3_4AFreshnessTheBare304DoesNotResendIsTheStoredOne) {
    // Before issue 19, freshness was decided on the 304's fields alone: a 304 without
    // Cache-Control made the stored max-age=60 object unstorable.
    const cache::ObjectRef old = stored(t0_, "Cache-Control: max-age=60\r\n");
    const Freshened f = freshen_at(
        *old, not_modified({{"ETag", "\"v1\""}, {"Date", "Sun, 06 Nov 1994 08:50:38 GMT"}}),
        t0_ + 61s);
    EXPECT_TRUE(f.storable);
    EXPECT_EQ(f.object->window().ttl, 60s);
}

TEST_F(Freshen, Rfc9111Section4_3_4A304ThatForbidsStoringStillAnswersWithTheBody) {
    const cache::ObjectRef old = stored(t0_, "Cache-Control: max-age=60\r\n");
    const Freshened f = freshen_at(*old, not_modified({{"Cache-Control", "no-store"}}), t0_ + 61s);
    EXPECT_FALSE(f.storable);
    ASSERT_TRUE(f.object);
    EXPECT_EQ(std::string_view(f.object->body(), f.object->body_size()), kBody);
    EXPECT_EQ(f.object->window().ttl, 0s);
}

TEST_F(Freshen, Rfc9111Section4_3_4The304sDateAndValidatorsReplaceTheStoredOnes) {
    const cache::ObjectRef old = stored(t0_, "Expires: Sun, 06 Nov 1994 08:50:37 GMT\r\n");
    // Expires 60 s after the stored Date; the 304 says its Date is 30 s later: 30 s are left.
    const Freshened f =
        freshen_at(*old,
                   not_modified({{"Date", "Sun, 06 Nov 1994 08:50:07 GMT"},
                                 {"ETag", "\"v1b\""},
                                 {"Last-Modified", "Sat, 05 Nov 1994 08:49:37 GMT"}}),
                   t0_ + 61s, kDateUnix + 30); // it arrives when it says it was sent
    EXPECT_TRUE(f.storable);
    EXPECT_EQ(f.object->window().ttl, 30s);
    EXPECT_EQ(f.object->date(), static_cast<std::uint32_t>(kDateUnix + 30));
    EXPECT_EQ(f.object->etag(), "\"v1b\"");
    EXPECT_EQ(f.object->last_modified(), "Sat, 05 Nov 1994 08:49:37 GMT");
}

} // namespace
} // namespace lacquer::proxy
