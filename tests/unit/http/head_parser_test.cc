#include "lacquer/http/head_parser.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::http {
namespace {

struct Parsed {
    HeadParser::Status status;
    std::size_t consumed;
    HeadError error;
};

Parsed parse_request(HeadParser& p, std::string_view bytes) {
    const auto fed = p.feed(bytes.data(), bytes.size());
    return {fed.status, fed.consumed, p.error()};
}

TEST(HeadParser, StopsRightAfterTheHeadAndLeavesTheBody) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg = "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET";
    const auto r = parse_request(p, msg);
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(msg.substr(r.consumed), "helloGET");
    const RequestHead& h = p.request();
    EXPECT_EQ(h.method, "POST");
    EXPECT_EQ(h.target, "/a?b=1");
    EXPECT_EQ(h.framing.kind, Framing::Kind::Length);
    EXPECT_EQ(h.framing.length, 5u);
    ASSERT_EQ(h.headers.count, 2u);
    EXPECT_EQ(h.headers.find("host")->value, "x");
    EXPECT_TRUE(h.keep_alive);
}

TEST(HeadParser, AcceptsAHeadFedOneByteAtATime) {
    HeadParser p(HeadKind::Request, {});
    const std::string msg =
        "GET /one HTTP/1.1\r\nHost: example\r\nX-Long: a b  c \r\nX-Empty:\r\n\r\n";
    for (std::size_t i = 0; i < msg.size(); ++i) {
        const auto fed = p.feed(msg.data() + i, 1);
        if (i + 1 < msg.size()) {
            ASSERT_EQ(fed.status, HeadParser::Status::NeedMore) << i;
        } else {
            ASSERT_EQ(fed.status, HeadParser::Status::Complete);
            EXPECT_EQ(fed.consumed, 1u);
        }
    }
    EXPECT_EQ(p.request().headers.find("X-Long")->value, "a b  c");
    EXPECT_EQ(p.request().headers.find("X-Empty")->value, "");
    EXPECT_EQ(p.request().framing.kind, Framing::Kind::None);
}

TEST(HeadParser, ParsesPipelinedRequestsAfterReset) {
    HeadParser p(HeadKind::Request, {});
    std::string msg = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    auto r = parse_request(p, msg);
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().target, "/1");
    p.reset();
    r = parse_request(p, std::string_view(msg).substr(r.consumed));
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().target, "/2");
}

TEST(HeadParser, HoldsItsWorkingMemoryOnlyWhileAMessageIsRead) {
    HeadParser p(HeadKind::Request, {});
    EXPECT_FALSE(p.holds_memory()); // an idle keep-alive connection's parser
    EXPECT_TRUE(p.request().method.empty());
    EXPECT_EQ(p.request().headers.count, 0u);
    auto r = parse_request(p, "GET /a HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nX-Tw");
    ASSERT_EQ(r.status, HeadParser::Status::NeedMore);
    EXPECT_TRUE(p.holds_memory());
    r = parse_request(p, "o: 2\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().headers.count, 3u);
    EXPECT_EQ(p.request().headers.find("X-Two")->value, "2");
    p.reset();
    EXPECT_FALSE(p.holds_memory());
    EXPECT_TRUE(p.request().target.empty());
    EXPECT_EQ(p.request().headers.count, 0u);
    // The next message takes a block again (this thread's spare, most likely the same one) and
    // sees nothing of the last.
    r = parse_request(p, "POST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().method, "POST");
    EXPECT_EQ(p.request().target, "/b");
    EXPECT_EQ(p.request().headers.count, 2u);
    EXPECT_EQ(p.request().headers.find("X-Two"), nullptr);
    EXPECT_EQ(p.request().framing.length, 2u);
}

TEST(HeadParser, RestartKeepsTheMemoryButNothingOfTheLastMessage) {
    HeadParser p(HeadKind::Request, {});
    auto r = parse_request(p, "GET /a HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nX-Two: 2\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    p.restart(); // a busy keep-alive connection between two requests
    EXPECT_TRUE(p.holds_memory());
    EXPECT_FALSE(p.started());
    EXPECT_TRUE(p.request().target.empty());
    EXPECT_EQ(p.request().headers.count, 0u);
    r = parse_request(p, "HEAD /b HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().method, "HEAD");
    EXPECT_EQ(p.request().target, "/b");
    EXPECT_EQ(p.request().version_minor, 0);
    EXPECT_FALSE(p.request().keep_alive);
    EXPECT_EQ(p.request().headers.count, 1u);
    EXPECT_EQ(p.request().headers.find("X-Two"), nullptr);
    // An error does not survive a restart either.
    p.restart();
    r = parse_request(p, "BAD\x01 / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Error);
    p.restart();
    r = parse_request(p, "GET /c HTTP/1.1\r\nHost: z\r\n\r\n");
    ASSERT_EQ(r.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.request().target, "/c");
    p.reset(); // idle a while: the memory goes back
    EXPECT_FALSE(p.holds_memory());
}

TEST(HeadParser, AResponseToHeadIsKnownBeforeItsFirstByte) {
    HeadParser p(HeadKind::Response, {});
    EXPECT_EQ(p.response().status, 0);
    p.expect_response_to("HEAD"); // said while the parser holds no memory yet
    const std::string msg = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    const auto fed = p.feed(msg.data(), msg.size());
    ASSERT_EQ(fed.status, HeadParser::Status::Complete);
    EXPECT_EQ(p.response().status, 200);
    EXPECT_EQ(p.response().framing.kind, Framing::Kind::None); // no body after HEAD
    EXPECT_EQ(p.response().content_length, 5u);
    p.reset();
    EXPECT_FALSE(p.holds_memory());
    EXPECT_EQ(p.response().status, 0);
}

struct BadCase {
    const char* name;
    std::string bytes;
    HeadError expected;
};

class HeadParserRefuses : public ::testing::TestWithParam<BadCase> {};

TEST_P(HeadParserRefuses, WithTheRightError) {
    HeadParser p(HeadKind::Request, {.max_head_bytes = 1024, .max_uri_bytes = 64});
    const auto r = parse_request(p, GetParam().bytes);
    EXPECT_EQ(r.status, HeadParser::Status::Error);
    EXPECT_EQ(r.error, GetParam().expected) << head_error_name(r.error);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HeadParserRefuses,
    ::testing::Values(
        BadCase{
            "ClTe",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            HeadError::Malformed},
        BadCase{"DuplicateCl",
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                HeadError::Malformed},
        BadCase{"CommaCl", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
                HeadError::Malformed},
        BadCase{"TeNotChunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
                HeadError::BadFraming},
        BadCase{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", HeadError::Malformed},
        BadCase{"NulInValue", std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35),
                HeadError::Malformed},
        BadCase{"NoHost", "GET / HTTP/1.1\r\n\r\n", HeadError::MissingHost},
        BadCase{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HeadError::MissingHost},
        BadCase{"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", HeadError::VersionNotSupported},
        BadCase{"BadMethod", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", HeadError::Malformed},
        BadCase{"LongUri", "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",
                HeadError::UriTooLong},
        BadCase{"LargeHead",
                "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(2000, 'a') + "\r\n\r\n",
                HeadError::HeadTooLarge},
        BadCase{"BadExpect", "GET / HTTP/1.1\r\nHost: h\r\nExpect: tea\r\n\r\n",
                HeadError::Malformed},
        // Found by the head_parser fuzz target: a CR not followed by LF ended the head.
        BadCase{"CrThenAnyByteEndsNothing", "GET / HTTP/1.1\r\nHost: h\r\n\rX",
                HeadError::Malformed},
        BadCase{"BareCrAfterRequestLine", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
                HeadError::Malformed},
        // Found by the fuzz target: llhttp sets no flag for a blank Transfer-Encoding.
        BadCase{"BlankTeWithLength",
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: \r\n\r\n",
                HeadError::BadFraming},
        BadCase{"BlankTe", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
                HeadError::BadFraming},
        // Found by the fuzz target in CI: llhttp skipped a bare CR before the request line.
        BadCase{"BareCrBeforeTheRequestLine", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n",
                HeadError::Malformed},
        BadCase{"ObsFold", "GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
                HeadError::Malformed},
        // Found by the smuggling corpus: with keep-alive, the bytes after an HTTP/1.0 chunked
        // body were read as the next request (RFC 9112 §6.1 says the framing is faulty).
        BadCase{"TeInHttp10",
                "POST / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                HeadError::BadFraming},
        // Found by the smuggling corpus: the body is chunked afresh, so "gzip" was lost.
        BadCase{"TeGzipChunked",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HeadError::BadFraming},
        BadCase{"TeIdentityChunked",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
                HeadError::BadFraming},
        // Found by the smuggling corpus: Host values were not checked (RFC 9112 §3.2).
        BadCase{"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HeadError::Malformed},
        BadCase{"HostWithUserinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", HeadError::Malformed},
        BadCase{"HostWithPath", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HeadError::Malformed},
        BadCase{"HostWithBadPort", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", HeadError::Malformed},
        BadCase{"HostWithBadEscape", "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", HeadError::Malformed},
        BadCase{"HostUnclosedLiteral", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
                HeadError::Malformed},
        BadCase{"AbsoluteFormUserinfo", "GET http://u@a/ HTTP/1.0\r\n\r\n", HeadError::Malformed},
        BadCase{"AbsoluteFormNoAuthority", "GET http:///x HTTP/1.0\r\n\r\n", HeadError::Malformed},
        // Issue 15 item 1: an empty Host names no authority (RFC 9112 §3.2).
        BadCase{"EmptyHostHttp11", "GET / HTTP/1.1\r\nHost:\r\n\r\n", HeadError::MissingHost},
        BadCase{"BlankHostHttp11", "GET / HTTP/1.1\r\nHost:  \r\n\r\n", HeadError::MissingHost},
        // Issue 15 item 6: obs-fold where the value only starts on the continuation line.
        BadCase{"TeValueOnAFoldedLine",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
                HeadError::Malformed},
        BadCase{"TabFoldedValue", "GET / HTTP/1.1\r\nHost: h\r\nX-A:\r\n\tb\r\n\r\n",
                HeadError::Malformed},
        BadCase{"WhitespaceBeforeTheFirstField", "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
                HeadError::Malformed}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(HeadParser, AcceptsValidHostsAndOwsAroundChunked) {
    for (const char* host : {"a", "a:80", "a:", "127.0.0.1:8080", "[::1]:8080", "[v1.x]",
                             "xn--bcher-kva.example", "a%41b", "a_b~c!$&'()*+,;="}) {
        HeadParser p(HeadKind::Request, {});
        const std::string msg = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
        EXPECT_EQ(parse_request(p, msg).status, HeadParser::Status::Complete) << host;
    }
    for (const char* te : {"chunked", "CHUNKED", "chunked ", "\tchunked\t"}) {
        HeadParser p(HeadKind::Request, {});
        const std::string msg =
            std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:") + te + "\r\n\r\n";
        ASSERT_EQ(parse_request(p, msg).status, HeadParser::Status::Complete) << te;
        EXPECT_EQ(p.request().framing.kind, Framing::Kind::Chunked) << te;
    }
}

TEST(HeadParser, SkipsEmptyLinesBeforeAMessageWhateverTheSplit) {
    const std::string msg = "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    for (std::size_t split = 0; split <= msg.size(); ++split) {
        HeadParser p(HeadKind::Request, {});
        auto fed = p.feed(msg.data(), split);
        if (fed.status == HeadParser::Status::NeedMore) {
            fed = p.feed(msg.data() + split, msg.size() - split);
        }
        EXPECT_EQ(fed.status, HeadParser::Status::Complete) << "split at " << split;
        EXPECT_EQ(p.request().target, "/");
    }
    HeadParser p(HeadKind::Response, {});
    const std::string bare = "HTTP/1.1 100 Continue\r\n\r\n";
    ASSERT_EQ(p.feed(bare.data(), bare.size()).status, HeadParser::Status::Complete);
    p.reset();
    EXPECT_EQ(p.feed("\r", 1).status, HeadParser::Status::NeedMore);
    EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\n\r\n", 19).status, HeadParser::Status::Error);
}

TEST(HeadParser, RefusesMoreThanTheHeaderCountLimit) {
    HeadParser p(HeadKind::Request, {});
    std::string msg = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (std::size_t i = 0; i < kMaxHeaders; ++i) {
        msg += "X-" + std::to_string(i) + ": v\r\n";
    }
    msg += "\r\n";
    const auto r = parse_request(p, msg);
    EXPECT_EQ(r.status, HeadParser::Status::Error);
    EXPECT_EQ(r.error, HeadError::TooManyHeaders);
    EXPECT_EQ(head_error_status(r.error), 431);
}

TEST(HeadParser, Http10IsCloseUnlessKeepAliveIsAsked) {
    HeadParser p(HeadKind::Request, {});
    ASSERT_EQ(parse_request(p, "GET / HTTP/1.0\r\n\r\n").status, HeadParser::Status::Complete);
    EXPECT_FALSE(p.request().keep_alive);
    p.reset();
    ASSERT_EQ(parse_request(p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status,
              HeadParser::Status::Complete);
    EXPECT_TRUE(p.request().keep_alive);
    p.reset();
    ASSERT_EQ(parse_request(p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").status,
              HeadParser::Status::Complete);
    EXPECT_FALSE(p.request().keep_alive);
}

TEST(HeadParser, ResponseFramingFollowsRfc9112) {
    struct Case {
        std::string head;
        std::string_view method;
        Framing::Kind kind;
        bool keep_alive;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET", Framing::Kind::Length, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", Framing::Kind::None, true},
        {"HTTP/1.1 204 No Content\r\n\r\n", "GET", Framing::Kind::None, true},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", Framing::Kind::None,
         true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", Framing::Kind::Chunked,
         true},
        {"HTTP/1.1 200 OK\r\n\r\n", "GET", Framing::Kind::UntilClose, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", Framing::Kind::Length, false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", "GET",
         Framing::Kind::Length, false},
    };
    for (const Case& c : cases) {
        HeadParser p(HeadKind::Response, {});
        p.expect_response_to(c.method);
        const auto fed = p.feed(c.head.data(), c.head.size());
        ASSERT_EQ(fed.status, HeadParser::Status::Complete) << c.head;
        EXPECT_EQ(fed.consumed, c.head.size());
        EXPECT_EQ(p.response().framing.kind, c.kind) << c.head;
        EXPECT_EQ(p.response().keep_alive, c.keep_alive) << c.head;
    }
}

TEST(HeadParser, RefusesResponseHeadsWithBareCrOrControlBytes) {
    // Found by the head_parser fuzz target (tests/fuzz/crashes/head_parser/).
    const std::string heads[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\rX",
        "HTTP/1.1 200 OK\rXContent-Length: 5\r\n\r\nhello",
        std::string("HTTP/1.1 200 O\0K\x01\r\nContent-Length: 0\r\n\r\n", 40),
        "HTTP/1.1 101 Sw\x17tching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding:  \r\n\r\nhello",
    };
    for (const std::string& head : heads) {
        HeadParser p(HeadKind::Response, {});
        EXPECT_EQ(p.feed(head.data(), head.size()).status, HeadParser::Status::Error) << head;
    }
}

TEST(HeadParser, RefusesResponsesInATransferCodingOtherThanALoneChunked) {
    // Issue 15 item 6, RFC 9112 §6.1: the coded bytes would be stored and served as content.
    const std::string heads[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nxx",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\r\n\tc\r\nContent-Length: 0\r\n\r\n",
    };
    for (const std::string& head : heads) {
        HeadParser p(HeadKind::Response, {});
        const auto fed = p.feed(head.data(), head.size());
        EXPECT_EQ(fed.status, HeadParser::Status::Error) << head;
    }
    for (const char* te : {"chunked", "Chunked", " chunked "}) {
        HeadParser p(HeadKind::Response, {});
        const std::string head =
            std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding:") + te + "\r\n\r\n";
        ASSERT_EQ(p.feed(head.data(), head.size()).status, HeadParser::Status::Complete) << te;
        EXPECT_EQ(p.response().framing.kind, Framing::Kind::Chunked);
    }
}

TEST(HeadParser, AFoldIsSeenWhateverTheSplit) {
    const std::string msg = "GET / HTTP/1.1\r\nHost: h\r\nX:\r\n y\r\n\r\n";
    for (std::size_t split = 1; split < msg.size(); ++split) {
        HeadParser p(HeadKind::Request, {});
        auto fed = p.feed(msg.data(), split);
        if (fed.status == HeadParser::Status::NeedMore) {
            fed = p.feed(msg.data() + split, msg.size() - split);
        }
        EXPECT_EQ(fed.status, HeadParser::Status::Error) << "split at " << split;
    }
    // A body that starts with a space is no fold.
    HeadParser p(HeadKind::Request, {});
    const std::string post = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n x";
    const auto fed = p.feed(post.data(), post.size());
    ASSERT_EQ(fed.status, HeadParser::Status::Complete);
    EXPECT_EQ(fed.consumed, post.size() - 2);
}

TEST(HeadParser, RefusesAResponseWithTwoLengths) {
    HeadParser p(HeadKind::Response, {});
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    EXPECT_EQ(p.feed(head.data(), head.size()).status, HeadParser::Status::Error);
}

} // namespace
} // namespace lacquer::http
