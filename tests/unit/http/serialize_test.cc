#include "lacquer/http/head_parser.h"
#include "lacquer/http/serialize.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::http {
namespace {

// Forwarding to origin-form "/x" for a client at 127.0.0.1.
ForwardedRequest forwarded_x(Framing body = {}) {
    ForwardedRequest fw;
    fw.target = "/x";
    fw.client_addr = "127.0.0.1";
    fw.body = body;
    return fw;
}

TEST(Serialize, UpstreamRequestDropsHopByHopAndAddsForwardingHeaders) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg =
        "POST /x HTTP/1.1\r\nHost: api\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
        "Keep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: p\r\n"
        "X-Forwarded-For: 10.0.0.1\r\nVia: 1.1 edge\r\nExpect: 100-continue\r\n"
        "Transfer-Encoding: chunked\r\nAccept: */*\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    std::string out;
    write_upstream_request(out, p.request(), forwarded_x({Framing::Kind::Chunked, 0}));
    EXPECT_EQ(out, "POST /x HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n"
                   "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nVia: 1.1 edge, 1.1 lacquer\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
    // What we send parses back to the same request.
    HeadParser again(HeadKind::Request, {});
    ASSERT_EQ(again.feed(out.data(), out.size()).status, HeadParser::Status::Complete);
    EXPECT_EQ(again.request().framing.kind, Framing::Kind::Chunked);
    EXPECT_EQ(again.request().headers.find("X-Secret"), nullptr);
}

// The admin token is the admin port's: whatever header carries it, and wherever in its value,
// the origin never sees it (issue 15, item 10). The rest of the request goes on unchanged.
TEST(Serialize, AHeaderThatCarriesTheSecretIsNeverSentUpstream) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg = "GET /x HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer s3cret-42\r\n"
                            "Cookie: a=1; t=s3cret-42; b=2\r\nX-Forwarded-For: s3cret-42\r\n"
                            "Via: 1.1 s3cret-42\r\nX-Forwarded-For: 10.0.0.1\r\n"
                            "X-Note: S3CRET-42\r\nAccept: */*\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    ForwardedRequest fw = forwarded_x();
    fw.secret = "s3cret-42";
    std::string out;
    write_upstream_request(out, p.request(), fw);
    EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: api\r\nX-Note: S3CRET-42\r\nAccept: */*\r\n"
                   "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nVia: 1.1 lacquer\r\n\r\n");
    EXPECT_EQ(out.find("s3cret-42"), std::string::npos);

    // In Host too: the origin gets the authority the proxy routed under instead (lacquerd
    // refuses a request whose authority carries the token: RequestFsm::step_recv).
    HeadParser host(HeadKind::Request, {});
    const std::string sneaky = "GET /x HTTP/1.1\r\nHost: s3cret-42.example\r\n\r\n";
    ASSERT_EQ(host.feed(sneaky.data(), sneaky.size()).status, HeadParser::Status::Complete);
    fw.host = "api";
    out.clear();
    write_upstream_request(out, host.request(), fw);
    EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: api\r\nX-Forwarded-For: 127.0.0.1\r\n"
                   "Via: 1.1 lacquer\r\n\r\n");
    // Without a secret nothing is dropped.
    fw.secret = {};
    out.clear();
    write_upstream_request(out, p.request(), fw);
    EXPECT_NE(out.find("Authorization: Bearer s3cret-42\r\n"), std::string::npos);
}

TEST(Serialize, EveryViaAndXForwardedForLineIsKeptInOrderUnlessConnectionNamesIt) {
    HeadParser request(HeadKind::Request, {});
    const std::string req = "GET /x HTTP/1.1\r\nHost: api\r\nVia: 1.1 a\r\n"
                            "X-Forwarded-For: 10.0.0.1\r\nVia: 1.1 b, 1.1 c\r\n"
                            "X-Forwarded-For: 10.0.0.2\r\n\r\n";
    ASSERT_EQ(request.feed(req.data(), req.size()).status, HeadParser::Status::Complete);
    std::string out;
    write_upstream_request(out, request.request(), forwarded_x());
    EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: api\r\n"
                   "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1\r\n"
                   "Via: 1.1 a, 1.1 b, 1.1 c, 1.1 lacquer\r\n\r\n");

    HeadParser response(HeadKind::Response, {});
    const std::string resp =
        "HTTP/1.1 200 OK\r\nVia: 1.0 x\r\nETag: \"e\"\r\nVia: 1.1 y\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(response.feed(resp.data(), resp.size()).status, HeadParser::Status::Complete);
    out.clear();
    write_response_lines(out, response.response());
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nETag: \"e\"\r\nVia: 1.0 x, 1.1 y, 1.1 lacquer\r\n");

    HeadParser hop(HeadKind::Response, {});
    const std::string named = "HTTP/1.1 200 OK\r\nConnection: Via\r\nVia: 1.1 z\r\n\r\n";
    ASSERT_EQ(hop.feed(named.data(), named.size()).status, HeadParser::Status::Complete);
    out.clear();
    write_response_lines(out, hop.response());
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nVia: 1.1 lacquer\r\n");
}

TEST(Serialize, UpstreamRequestAlwaysCarriesExactlyOneHost) {
    struct Case {
        std::string request;
        std::string_view routed_host; // ForwardedRequest::host; empty: the client's own
        std::string host_line;
    };
    const Case cases[] = {
        // A Connection header naming Host does not remove it.
        {"GET /x HTTP/1.1\r\nHost: api\r\nConnection: Host, close\r\n\r\n", "", "Host: api\r\n"},
        // HTTP/1.0 without Host gets the authority it was routed under.
        {"GET /x HTTP/1.0\r\n\r\n", "origin:8080", "Host: origin:8080\r\n"},
        // So does one whose Host is empty, in place of its own line.
        {"GET /x HTTP/1.0\r\nHost:\r\n\r\n", "origin:8080", "Host: origin:8080\r\n"},
        // An absolute-form authority replaces Host (RFC 9112 §3.2.2).
        {"GET http://origin:8080/x HTTP/1.1\r\nHost: ORIGIN:8080\r\n\r\n", "origin:8080",
         "Host: origin:8080\r\n"}};
    for (const Case& c : cases) {
        HeadParser p(HeadKind::Request, {});
        ASSERT_EQ(p.feed(c.request.data(), c.request.size()).status, HeadParser::Status::Complete);
        std::string out;
        ForwardedRequest fw;
        fw.target = "/x";
        fw.client_addr = "127.0.0.1";
        fw.host = c.routed_host;
        write_upstream_request(out, p.request(), fw);
        EXPECT_NE(out.find(c.host_line), std::string::npos) << out;
        HeadParser again(HeadKind::Request, {});
        ASSERT_EQ(again.feed(out.data(), out.size()).status, HeadParser::Status::Complete) << out;
        EXPECT_EQ(again.request().headers.count_of("Host"), 1u);
    }
}

TEST(Serialize, CacheFetchKeepsAllowedHeadersAndSetsTheProxysOwn) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg = "HEAD /x?a=1&junk=2 HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n"
                            "X-Secret: s\r\nX-Locale: evil\r\nIf-None-Match: \"e\"\r\n"
                            "Range: bytes=0-1\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    const std::vector<std::string> allowed{"accept", "X-Locale", "If-None-Match"};
    const Header locale{"X-Locale", "de-DE"};
    ForwardedRequest fw;
    fw.method = "GET";
    fw.target = "/x?a=1";
    fw.client_addr = "127.0.0.1";
    fw.allowed_headers = &allowed;
    fw.set_headers = std::span<const Header>(&locale, 1);
    fw.shared_fetch = true;
    std::string out;
    write_upstream_request(out, p.request(), fw);
    EXPECT_EQ(out, "GET /x?a=1 HTTP/1.1\r\nHost: api\r\nAccept: */*\r\nX-Locale: de-DE\r\n"
                   "X-Forwarded-For: 127.0.0.1\r\nVia: 1.1 lacquer\r\n\r\n");
    EXPECT_TRUE(forwards_header(fw, "ACCEPT"));
    EXPECT_FALSE(forwards_header(fw, "X-Secret"));
    EXPECT_FALSE(forwards_header(fw, "x-locale")); // set by the proxy, never the client's
    EXPECT_FALSE(forwards_header(fw, "If-None-Match"));
}

// Issue 15 item 2: what a shared fetch may carry, by the shape of a header name.
TEST(Serialize, ASharedFetchOnTheDefaultRouteDropsEveryClientRoutingHeader) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg =
        "GET /x HTTP/1.1\r\nHost: api\r\nAccept: */*\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Port: 1\r\nX-Forwarded-Scheme: a\r\nX-Forwarded-Prefix: /p\r\n"
        "X-Forwarded-Path: /q\r\nX-Original-Host: o\r\nX-Override-URL: /u\r\n"
        "True-Client-IP: 1.2.3.4\r\nX-Real-IP: 1.2.3.4\r\nCF-Connecting-IP: 1.2.3.4\r\n"
        "X-Remote-Addr: 1.2.3.4\r\nX-HTTP-Method-Override: DELETE\r\nX-Method-Override: PUT\r\n"
        "Forwarded: host=o\r\nX-Host: o\r\nX-Rewrite-URL: /r\r\nX_Forwarded_Host: o\r\n"
        "X_HTTP_Method_Override: DELETE\r\nX-Forwarded-For: 6.6.6.6\r\nCookie: c=1\r\n"
        "User-Agent: ua\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    ForwardedRequest fw = forwarded_x();
    fw.shared_fetch = true;
    std::string out;
    write_upstream_request(out, p.request(), fw);
    EXPECT_EQ(out, "GET /x HTTP/1.1\r\nHost: api\r\nAccept: */*\r\nCookie: c=1\r\n"
                   "User-Agent: ua\r\nX-Forwarded-For: 127.0.0.1\r\nVia: 1.1 lacquer\r\n\r\n");
    // A pass carries them (but never an underscore name), and the client's chain.
    fw.shared_fetch = false;
    out.clear();
    write_upstream_request(out, p.request(), fw);
    EXPECT_NE(out.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
    EXPECT_NE(out.find("X-Forwarded-For: 6.6.6.6, 127.0.0.1\r\n"), std::string::npos);
    EXPECT_EQ(out.find("X_"), std::string::npos);
    fw.allow_underscores = true;
    EXPECT_TRUE(forwards_header(fw, "X_Forwarded_Host"));
}

TEST(Serialize, ASharedFetchOnANamedRouteForwardsOnlyWhatDescribesTheRepresentation) {
    ForwardedRequest fw = forwarded_x();
    fw.shared_fetch = true;
    fw.representation_only = true;
    for (std::string_view name : {"Accept", "accept-encoding", "Accept-Language", "Host"}) {
        EXPECT_TRUE(forwards_header(fw, name) || name == "Host") << name;
    }
    for (std::string_view name : {"User-Agent", "Cookie", "Authorization", "X-Forwarded-Proto",
                                  "X-Anything", "Origin", "Accept_Encoding"}) {
        EXPECT_FALSE(forwards_header(fw, name)) << name;
    }
    const std::vector<std::string> withheld{"Accept-Language"};
    fw.withheld_headers = &withheld; // a variant owns it: the origin gets the variant's value
    EXPECT_FALSE(forwards_header(fw, "accept-language"));
    // forward_headers names an underscore header: the operator asked for it.
    const std::vector<std::string> allowed{"X_Legacy"};
    fw.allowed_headers = &allowed;
    EXPECT_TRUE(forwards_header(fw, "X_Legacy"));
    EXPECT_FALSE(forwards_header(fw, "Accept"));
}

TEST(Serialize, StoredLinesLeaveOutAgeConnectionOwnViaAndTheStandardStatusLine) {
    HeadParser p(HeadKind::Response, {});
    const std::string msg = "HTTP/1.1 200 OK\r\nAge: 7\r\nETag: \"e\"\r\nVia: 1.1 edge\r\n"
                            "Connection: close, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    std::string stored;
    write_stored_lines(stored, p.response());
    EXPECT_EQ(stored, "ETag: \"e\"\r\nVia: 1.1 edge\r\n");
    EXPECT_EQ(stored_status_line(stored), "");
    std::string passed;
    write_response_lines(passed, p.response());
    EXPECT_EQ(passed, "HTTP/1.1 200 OK\r\nAge: 7\r\nETag: \"e\"\r\nVia: 1.1 edge, 1.1 lacquer\r\n");
}

TEST(Serialize, StoredLinesKeepAStatusLineWhoseReasonIsNotTheStandardOne) {
    HeadParser p(HeadKind::Response, {});
    const std::string msg = "HTTP/1.1 404 Nothing Here\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(p.feed(msg.data(), msg.size()).status, HeadParser::Status::Complete);
    std::string stored;
    write_stored_lines(stored, p.response());
    EXPECT_EQ(stored, "HTTP/1.1 404 Nothing Here\r\n");
    EXPECT_EQ(stored_status_line(stored + "ETag: \"e\"\r\n"), "HTTP/1.1 404 Nothing Here\r\n");
}

TEST(Serialize, TheStandardStatusLineFitsForEveryStatus) {
    char buf[kStatusLineMax];
    EXPECT_EQ(write_status_line(buf, 200), "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(write_status_line(buf, 431), "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    EXPECT_EQ(write_status_line(buf, 299), "HTTP/1.1 299 Unknown\r\n");
    for (int status = 100; status <= 999; ++status) {
        const std::string_view line = write_status_line(buf, status);
        ASSERT_EQ(line.substr(9, 3), std::to_string(status));
        ASSERT_TRUE(line.ends_with("\r\n"));
        ASSERT_LE(line.size(), kStatusLineMax);
    }
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
