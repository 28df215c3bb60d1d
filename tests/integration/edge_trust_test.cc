// Issue 15 ("Trust at the edge"), items 1, 2, 3, 6 and 7, against the real lacquerd and a real
// origin that reflects what it was sent: one authority per request, shared fetches that carry
// nothing the key does not account for, variants as the only locale the origin sees, strict
// framing of origin answers, and routes that see the normalised path.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <cerrno>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>

namespace lacquer::test {
namespace {

using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;

// The origin answers with what it was asked: the Host it got, the target, and every header
// name it received (lower case, sorted by arrival), so that a test sees exactly what went on.
void reflecting_origin(ScriptedOrigin& origin) {
    origin.on_any([](OriginExchange& x) {
        std::string body = "host=" + x.request().header("Host") + " " + x.request().target;
        for (const auto& [name, value] : x.request().headers) {
            body += " " + name + "=" + value;
        }
        x.respond(200, {{"Cache-Control", "max-age=60"}}, body);
    });
}

// One raw request on a new connection; the whole answer as bytes, up to the peer's close.
Response raw_request(const LacquerProcess& proxy, std::string_view bytes) {
    HttpClient client;
    if (!client.connect(proxy.port()) || !client.send_raw(bytes)) {
        return {};
    }
    return client.read_response();
}

// ---- item 1: one authority per request ---------------------------------------------------------

constexpr std::string_view kDefaultRouteCaches = R"(default_route:
  cache: { ttl: 60s }
)";

TEST(EdgeTrust, Issue15AnAbsoluteFormAuthorityIsTheHostOfTheRouteTheKeyAndTheOrigin) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kDefaultRouteCaches));
    ASSERT_TRUE(proxy.started());
    // HTTP/1.0, absolute-form, no Host: stored under other.example, which the origin was sent.
    const Response other = raw_request(proxy, "GET http://other.example/x HTTP/1.0\r\n\r\n");
    ASSERT_EQ(other.status, 200) << other.summary();
    EXPECT_THAT(other.body, HasSubstr("host=other.example /x"));
    // HTTP/1.0 without Host and without an authority: keyed on the host it is sent with (the
    // origin's own address), never served other.example's object.
    const Response plain = raw_request(proxy, "GET /x HTTP/1.0\r\n\r\n");
    ASSERT_EQ(plain.status, 200) << plain.summary();
    EXPECT_THAT(plain.body, HasSubstr("host=" + origin.address() + " /x"));
    EXPECT_THAT(plain.body, Not(HasSubstr("other.example")));
    EXPECT_EQ(origin.count("/x"), 2u);
    // The same absolute-form again is a hit of its own object.
    const Response again = raw_request(proxy, "GET http://other.example/x HTTP/1.0\r\n\r\n");
    EXPECT_EQ(again.header("Cache-Status"), kHit);
    EXPECT_EQ(again.body, other.body);
    // An absolute-form target with a Host that names another authority is refused.
    EXPECT_EQ(
        raw_request(proxy, "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n").status,
        400);
}

TEST(EdgeTrust, Issue15AnEmptyOrMissingHostInHttp11AndAFragmentAre400) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kDefaultRouteCaches));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(raw_request(proxy, "GET /e HTTP/1.1\r\nHost:\r\n\r\n").status, 400);
    EXPECT_EQ(raw_request(proxy, "GET /e HTTP/1.1\r\nHost: \r\n\r\n").status, 400);
    EXPECT_EQ(raw_request(proxy, "GET /e HTTP/1.1\r\n\r\n").status, 400);
    EXPECT_EQ(raw_request(proxy, "GET /e#frag HTTP/1.1\r\nHost: api.test\r\n\r\n").status, 400);
    EXPECT_EQ(raw_request(proxy, "GET /e?q#frag HTTP/1.1\r\nHost: api.test\r\n\r\n").status, 400);
    EXPECT_EQ(origin.total_requests(), 0u);
}

// ---- item 2: a shared fetch carries nothing the key does not account for ------------------------

const HeaderFields kUnkeyed{{"Host", "api.test"},
                            {"Accept", "application/json"},
                            {"Accept-Encoding", "gzip"},
                            {"User-Agent", "curl"},
                            {"X-Forwarded-Proto", "http"},
                            {"X-Forwarded-Port", "8443"},
                            {"X-Forwarded-Scheme", "http"},
                            {"X-Forwarded-Prefix", "/evil"},
                            {"X-Forwarded-Path", "/evil"},
                            {"X-Original-Host", "evil.example"},
                            {"X-Override-URL", "/admin"},
                            {"True-Client-IP", "6.6.6.6"},
                            {"X-Real-IP", "6.6.6.6"},
                            {"X-Forwarded-For", "6.6.6.6"},
                            {"X_Forwarded_Host", "evil.example"},
                            {"X_HTTP_Method_Override", "DELETE"}};

constexpr std::string_view kNamedAndDefault = R"(routes:
  - name: named
    match: { path_prefix: /n/ }
    cache: { key_params: all, ttl: 60s }
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
  - name: legacy
    match: { path_prefix: /u/ }
    pass: true
    underscores_in_headers: true
default_route:
  cache: { ttl: 60s }
)";

TEST(EdgeTrust, Issue15TheDefaultRoutesSharedFetchDropsEveryClientRoutingHeader) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kNamedAndDefault));
    ASSERT_TRUE(proxy.started());
    const Response first = proxy.get("/d/item", kUnkeyed);
    ASSERT_EQ(first.header("Cache-Status"), kStored);
    for (const char* dropped :
         {"X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Prefix",
          "X-Forwarded-Path", "X-Original-Host", "X-Override-URL", "True-Client-IP", "X-Real-IP",
          "X_Forwarded_Host", "X_HTTP_Method_Override", "6.6.6.6"}) {
        EXPECT_THAT(first.body, Not(HasSubstr(dropped))) << first.body;
    }
    // What describes the representation (and the client software) still goes on here.
    EXPECT_THAT(first.body, HasSubstr("Accept=application/json"));
    EXPECT_THAT(first.body, HasSubstr("User-Agent=curl"));
    EXPECT_THAT(first.body, HasSubstr("X-Forwarded-For=127.0.0.1"));
}

TEST(EdgeTrust, Issue15ANamedRoutesSharedFetchForwardsOnlyTheRepresentationHeaders) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kNamedAndDefault));
    ASSERT_TRUE(proxy.started());
    HeaderFields with_credentials = kUnkeyed;
    with_credentials.push_back({"Cookie", "session=alice"});
    with_credentials.push_back({"Authorization", "Bearer alice"});
    const Response first = proxy.get("/n/item", with_credentials);
    ASSERT_EQ(first.header("Cache-Status"), kStored) << first.body;
    EXPECT_THAT(first.body, HasSubstr("Accept=application/json"));
    EXPECT_THAT(first.body, HasSubstr("Accept-Encoding=gzip"));
    for (const char* dropped : {"User-Agent", "X-Forwarded-Proto", "True-Client-IP", "Cookie",
                                "Authorization", "alice", "X_Forwarded_Host", "6.6.6.6"}) {
        EXPECT_THAT(first.body, Not(HasSubstr(dropped))) << first.body;
    }
    // Nothing of the first client's identity reached the origin, so the answer is shared.
    const Response next = proxy.get("/n/item", kApiHost);
    EXPECT_EQ(next.header("Cache-Status"), kHit);
    EXPECT_EQ(next.body, first.body);
}

TEST(EdgeTrust, Issue15UnderscoreHeadersReachNoOriginUnlessTheRouteAllowsThem) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kNamedAndDefault));
    ASSERT_TRUE(proxy.started());
    const Response passed = proxy.get("/p/item", kUnkeyed);
    ASSERT_EQ(passed.status, 200);
    EXPECT_THAT(passed.body, HasSubstr("X-Forwarded-Proto=http")); // a pass is not shared
    EXPECT_THAT(passed.body, Not(HasSubstr("X_")));
    const Response legacy = proxy.get("/u/item", kUnkeyed);
    EXPECT_THAT(legacy.body, HasSubstr("X_Forwarded_Host=evil.example"));
}

// ---- item 3: variants are the only locale the origin sees --------------------------------------

constexpr std::string_view kVariantRoutes = R"(variants:
  locale:
    sources: [query:locale, header:Accept-Language]
    values: [en-US, de-DE]
    default: en-US
    forward_header: X-Locale
routes:
  - name: plain
    match: { path_prefix: /v/ }
    cache: { key_params: all, variants: [locale], ttl: 60s }
  - name: named
    match: { path_prefix: /w/ }
    cache: { key_params: all, variants: [locale], ttl: 60s,
             forward_headers: [Accept, Accept-Language] }
)";

TEST(EdgeTrust, Issue15AVariantsSourceHeaderIsWithheldOrRewrittenToTheKeyedValue) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kVariantRoutes));
    ASSERT_TRUE(proxy.started());
    const HeaderFields chinese{{"Host", "api.test"}, {"Accept-Language", "zh-CN"}};
    const Response plain = proxy.get("/v/item", chinese);
    ASSERT_EQ(plain.header("Cache-Status"), kStored);
    EXPECT_THAT(plain.body, HasSubstr("X-Locale=en-US"));
    EXPECT_THAT(plain.body, Not(HasSubstr("Accept-Language")));
    EXPECT_THAT(plain.body, Not(HasSubstr("zh-CN")));
    // A route that forwards the source header by name sends the normalised value in it.
    const HeaderFields austrian{{"Host", "api.test"}, {"Accept-Language", "de-AT,de;q=0.9"}};
    const Response named = proxy.get("/w/item", austrian);
    ASSERT_EQ(named.header("Cache-Status"), kStored);
    EXPECT_THAT(named.body, HasSubstr("Accept-Language=de-DE"));
    EXPECT_THAT(named.body, Not(HasSubstr("de-AT")));
}

// ---- item 6: strict framing of origin answers --------------------------------------------------

TEST(EdgeTrust, Issue15AnAnswerInATransferCodingOtherThanChunkedIs502AndNotStored) {
    ScriptedOrigin origin;
    origin.on_get("/gz", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n"
                   "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    });
    origin.on_get("/gz-close", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: gzip\r\n"
                   "Connection: close\r\n\r\ncoded");
        x.close();
    });
    origin.on_get("/fold", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding:\r\n"
                   " chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    });
    LacquerProcess proxy(caching_config(origin, kDefaultRouteCaches));
    ASSERT_TRUE(proxy.started());
    for (const char* target : {"/gz", "/gz-close", "/fold"}) {
        EXPECT_EQ(proxy.get(target, kApiHost).status, 502) << target;
        EXPECT_EQ(proxy.get(target, kApiHost).status, 502) << target; // nothing was stored
        EXPECT_EQ(origin.count(target), 2u) << target;
    }
}

TEST(EdgeTrust, Issue15AFoldedRequestHeaderIs400AndReachesNoOrigin) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kDefaultRouteCaches));
    ASSERT_TRUE(proxy.started());
    EXPECT_EQ(raw_request(proxy, "POST /f HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding:\r\n"
                                 " chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                  .status,
              400);
    EXPECT_EQ(origin.total_requests(), 0u);
}

// How a connection ended, as the client's socket sees it.
enum class Ending { Fin, Reset, Open };

Ending read_to_the_end(int fd, std::string& received, Millis timeout) {
    const Deadline deadline(timeout);
    while (!deadline.expired()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            received.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return Ending::Fin;
        } else if (errno == ECONNRESET) {
            return Ending::Reset;
        }
    }
    return Ending::Open;
}

TEST(EdgeTrust, Issue15ACutCloseDelimitedAnswerToAnHttp10ClientEndsWithAReset) {
    ScriptedOrigin origin;
    origin.on_get("/cut", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        x.reset(); // the origin fails mid-body
    });
    origin.on_get("/whole", [](OriginExchange& x) {
        x.send_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n0\r\n\r\n");
    });
    LacquerProcess proxy(caching_config(origin, R"(routes:
  - name: passed
    match: { path_prefix: / }
    pass: true
)"));
    ASSERT_TRUE(proxy.started());
    for (const auto& [target, want] :
         {std::pair{"/cut", Ending::Reset}, std::pair{"/whole", Ending::Fin}}) {
        std::string error;
        UniqueFd fd = connect_tcp("127.0.0.1", proxy.port(), 5s, error);
        ASSERT_TRUE(fd.valid()) << error;
        const std::string request = std::string("GET ") + target + " HTTP/1.0\r\n\r\n";
        ASSERT_EQ(send_all(fd.get(), request, Deadline(5s)), IoStatus::Ok);
        std::string received;
        EXPECT_EQ(read_to_the_end(fd.get(), received, 5s), want) << target << ": " << received;
        EXPECT_THAT(received, HasSubstr("hello")) << target; // the close-delimited body
    }
}

// ---- item 7: routes see the normalised path ----------------------------------------------------

constexpr std::string_view kPassUnderP = R"(routes:
  - name: passed
    match: { path_prefix: /p/ }
    pass: true
  - name: cached
    match: { path_prefix: / }
    cache: { key_params: all, ttl: 60s }
)";

TEST(EdgeTrust, Issue15DotSegmentsAndDoubleSlashesCannotChooseAnotherRoute) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kPassUnderP));
    ASSERT_TRUE(proxy.started());
    for (const char* target : {"/p/x", "/c/../p/x", "/c/%2e%2e/p/x", "/c/%2E%2E/p/x", "//p/x",
                               "/./p/x", "/p/./x", "/../p/x"}) {
        const Response r = proxy.get(target, kApiHost);
        EXPECT_EQ(r.header("Cache-Status"), kBypass) << target;
        EXPECT_THAT(r.body, HasSubstr("host=api.test /p/x ")) << target << ": " << r.body;
    }
    EXPECT_EQ(origin.count("/p/x"), 8u);
    // One key for every spelling of one cached path, and %2F stays an encoded byte.
    EXPECT_EQ(proxy.get("/c/./k/../item", kApiHost).header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/c/item", kApiHost).header("Cache-Status"), kHit);
    EXPECT_EQ(proxy.get("/c/%69tem", kApiHost).header("Cache-Status"), kHit);
    const Response encoded = proxy.get("/c/a%2fb", kApiHost);
    EXPECT_THAT(encoded.body, HasSubstr(" /c/a%2Fb "));
    EXPECT_EQ(proxy.get("/c/%zz", kApiHost).status, 400);
}

TEST(EdgeTrust, Issue15MergingSlashesCanBeTurnedOff) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(
        caching_config(origin, std::string(kPassUnderP) + "merge_slashes: false\n"));
    ASSERT_TRUE(proxy.started());
    const Response r = proxy.get("//p/x", kApiHost);
    EXPECT_EQ(r.header("Cache-Status"), kStored); // "//p/x" is not under "/p/" then
    EXPECT_THAT(r.body, HasSubstr(" //p/x "));
    EXPECT_EQ(proxy.get("/c/../p/x", kApiHost).header("Cache-Status"), kBypass);
}

} // namespace
} // namespace lacquer::test
