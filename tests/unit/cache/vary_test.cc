// The Vary secondary key compares the request's values as RFC 9111 §4.1 says: after combining
// the field's lines and normalising the whitespace around list members.
#include "lacquer/cache/vary.h"
#include "lacquer/http/head_parser.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::cache {
namespace {

struct Request {
    http::HeadParser parser{http::HeadKind::Request, {}};
    std::string bytes;
    explicit Request(const std::string& headers) {
        bytes = "GET / HTTP/1.1\r\nHost: h\r\n" + headers + "\r\n";
        EXPECT_EQ(parser.feed(bytes.data(), bytes.size()).status,
                  http::HeadParser::Status::Complete);
    }
    const http::HeaderList& headers() const { return parser.request().headers; }
};

std::string spec_of(const std::string& headers) {
    const Request r(headers);
    std::string spec;
    append_vary_entry(spec, "Accept-Encoding", r.headers());
    return spec;
}

bool matches(const std::string& spec, const std::string& headers) {
    const Request r(headers);
    return vary_matches(spec, &r.headers());
}

TEST(Rfc9111Section4_1Vary, ValuesMatchAfterWhitespaceNormalisationOfListMembers) {
    const std::string spec = spec_of("Accept-Encoding: gzip,  deflate\r\n");
    EXPECT_EQ(spec, "Accept-Encoding\n=gzip, deflate\n");
    EXPECT_TRUE(matches(spec, "Accept-Encoding: gzip, deflate\r\n"));
    EXPECT_TRUE(matches(spec, "Accept-Encoding: gzip,deflate\r\n"));
    EXPECT_TRUE(matches(spec, "accept-encoding:   gzip ,\tdeflate \r\n"));
    EXPECT_TRUE(matches(spec, "Accept-Encoding: gzip\r\nAccept-Encoding: deflate\r\n"));
    EXPECT_FALSE(matches(spec, "Accept-Encoding: deflate, gzip\r\n")); // order is kept
    EXPECT_FALSE(matches(spec, "Accept-Encoding: gzip\r\n"));
    EXPECT_FALSE(matches(spec, "Accept-Encoding: gzip, deflate, br\r\n"));
    EXPECT_FALSE(matches(spec, "Accept-Encoding: gzip deflate\r\n"));
    EXPECT_FALSE(matches(spec, ""));
}

TEST(Rfc9111Section4_1Vary, AnAbsentHeaderMatchesOnlyAnAbsentOne) {
    const std::string absent = spec_of("");
    EXPECT_TRUE(matches(absent, ""));
    EXPECT_FALSE(matches(absent, "Accept-Encoding: gzip\r\n"));
    const std::string empty = spec_of("Accept-Encoding: \r\n");
    EXPECT_TRUE(matches(empty, "Accept-Encoding: \r\n"));
    EXPECT_TRUE(matches(empty, "Accept-Encoding: ,\r\n")); // no members either way
    EXPECT_FALSE(matches(empty, ""));
}

} // namespace
} // namespace lacquer::cache
