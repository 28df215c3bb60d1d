// Which part of a stored body a request gets (RFC 9110 §14.2, §13.1.5; RFC 9111 §3.4).
#include "lacquer/http/head_parser.h"
#include "proxy/range_answer.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::proxy {
namespace {

constexpr std::string_view kBody = "0123456789";

cache::ObjectRef object(int status = 200) {
    cache::StoredObject::Fields f;
    f.key = "G\nh\n/p\n\n";
    f.head = "ETag: \"d1\"\r\n";
    f.status = status;
    f.body_size = kBody.size();
    f.etag = "\"d1\"";
    cache::ObjectRef o(cache::StoredObject::create(f));
    std::copy(kBody.begin(), kBody.end(), o->body_for_fill());
    return o;
}

class RangeAnswer : public ::testing::Test {
protected:
    RangeAnswer() : parser_(http::HeadKind::Request, http::HeadLimits{}) {}
    http::RangePlan plan(std::string_view request, const cache::StoredObject& o) {
        parser_.reset();
        EXPECT_EQ(parser_.feed(request.data(), request.size()).status,
                  http::HeadParser::Status::Complete);
        return plan_range_answer(parser_.request(), o);
    }
    http::HeadParser parser_;
};

TEST_F(RangeAnswer, Rfc9110Section14_2AGetOfAStored200GetsItsRange) {
    const http::RangePlan p =
        plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\n\r\n", *object());
    EXPECT_EQ(p.kind, http::RangeKind::Single);
    EXPECT_EQ(p.first, 1u);
    EXPECT_EQ(p.last, 3u);
}

TEST_F(RangeAnswer, Rfc9110Section14_2HeadAndOtherStatusesAreAnsweredWhole) {
    EXPECT_EQ(plan("HEAD /p HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\n\r\n", *object()).kind,
              http::RangeKind::Whole);
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\n\r\n", *object(404)).kind,
              http::RangeKind::Whole);
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", *object()).kind, http::RangeKind::Whole);
}

TEST_F(RangeAnswer, Rfc9110Section13_1_5IfRangeDecidesBetweenThePartAndTheWhole) {
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\nIf-Range: \"d1\"\r\n\r\n",
                   *object())
                  .kind,
              http::RangeKind::Single);
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\nIf-Range: \"d0\"\r\n\r\n",
                   *object())
                  .kind,
              http::RangeKind::Whole);
    // The whole answer also for an unsatisfiable range of another version.
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=50-\r\nIf-Range: \"d0\"\r\n\r\n",
                   *object())
                  .kind,
              http::RangeKind::Whole);
    EXPECT_EQ(plan("GET /p HTTP/1.1\r\nHost: h\r\nRange: bytes=50-\r\n\r\n", *object()).kind,
              http::RangeKind::Unsatisfiable);
}

} // namespace
} // namespace lacquer::proxy
