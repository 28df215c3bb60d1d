#include "lacquer/http/head_parser.h"
#include "lacquer/http/serialize.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::http {
namespace {

TEST(Serialize, UpstreamRequestDropsHopByHopAndAddsForwardingHeaders) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg =
        "POST /x HTTP/1.1\r\nHost: api\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
        "Keep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: p\r\n"
        "X-Forwarded-For: 10.0.0.1\r\nVia: 1.1 edge\r\nExpect: 100-continue\r\n"
        "Transfer-Encoding: chunked\r\nAccept: */*\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    std::string out;
    write_upstream_request(out, p.request(),
                           {.target = "/x", .client_addr = "127.0.0.1",
                            .body = {Framing::Kind::Chunked, 0}});
    EXPECT_EQ(out, "POST /x HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n"
                   "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nVia: 1.1 edge, 1.1 lacquer\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
    // What we send parses back to the same request.
    HeadParser again(HeadKind::Request, {});
    ASSERT_EQ(again.feed(out.data(), out.size()).status, HeadParser::Status::Complete);
    EXPECT_EQ(again.request().framing.kind, Framing::Kind::Chunked);
    EXPECT_EQ(again.request().headers.find("X-Secret"), nullptr);
}

TEST(Serialize, ClientResponseRewritesFramingAndConnection) {
    HeadParser p(HeadKind::Response, {});
    const std::string msg = "HTTP/1.1 200 Fine\r\nContent-Type: a/b\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    std::string out;
    write_client_response(out, p.response(), {.body = {Framing::Kind::Chunked, 0}});
    EXPECT_EQ(out, "HTTP/1.1 200 Fine\r\nContent-Type: a/b\r\nVia: 1.1 lacquer\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(Serialize, SyntheticResponseIsCompleteAndParses) {
    std::string out;
    write_synthetic_response(out, 504, true);
    HeadParser p(HeadKind::Response, {});
    const auto fed = p.feed(out.data(), out.size());
    ASSERT_EQ(fed.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.response().status, 504);
    EXPECT_EQ(out.substr(fed.consumed), "504 Gateway Timeout\n");
    EXPECT_EQ(p.response().framing.length, out.size() - fed.consumed);
    EXPECT_FALSE(p.response().keep_alive);
}

} // namespace
} // namespace lacquer::http
