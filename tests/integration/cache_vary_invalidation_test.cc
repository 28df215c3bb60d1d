// The origin's Vary as a secondary key, and invalidation by unsafe methods (RFC 9111 §4.4):
// proven by the origin's request count and by numbered bodies, on the real lacquerd.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace cache_test;

constexpr std::string_view kConfig = R"(variants:
  locale:
    sources: [query:locale, header:X-Lang]
    values: [en-US, de-DE]
    default: en-US
    forward_header: X-Locale
routes:
  - name: all-headers
    match: { path_prefix: /v/ }
    cache: { key_params: all, ttl: 60s }
  - name: listed
    match: { path_prefix: /l/ }
    cache: { key_params: all, ttl: 60s, forward_headers: [Accept], variants: [locale] }
)";

TEST(CacheVary, EachValueOfAVariedHeaderIsItsOwnObject) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        const std::string encoding = x.request().header("Accept-Encoding");
        x.respond(200, {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}},
                  "for [" + encoding + "] #" + std::to_string(x.request().connection));
    });
    LacquerProcess proxy(caching_config(origin, kConfig));
    ASSERT_TRUE(proxy.started());

    const Response gzip = proxy.get("/v/x", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(gzip.header("Cache-Status"), kStored);
    const Response plain = proxy.get("/v/x");
    EXPECT_EQ(plain.header("Cache-Status"), kStored) << "no header is a value of its own";
    const Response br = proxy.get("/v/x", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(br.header("Cache-Status"), kStored);
    EXPECT_EQ(fetches(origin, "/v/x"), 3u);

    const Response gzip_again = proxy.get("/v/x", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(gzip_again.header("Cache-Status"), kHit);
    EXPECT_EQ(gzip_again.body, gzip.body);
    const Response plain_again = proxy.get("/v/x");
    EXPECT_EQ(plain_again.header("Cache-Status"), kHit);
    EXPECT_EQ(plain_again.body, plain.body);
    const Response br_again = proxy.get("/v/x", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(br_again.body, br.body);
    EXPECT_EQ(fetches(origin, "/v/x"), 3u); // the three were kept side by side
}

TEST(CacheVary, VaryOnHeadersTheOriginNeverReceivesDoesNotSplitTheObject) {
    ScriptedOrigin origin;
    origin.on_any(numbered(
        "listed", {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding, X-Locale"}}));
    LacquerProcess proxy(caching_config(origin, kConfig));
    ASSERT_TRUE(proxy.started());
    // Accept-Encoding is not forwarded on this route and X-Locale is the variant's own header:
    // neither can change the answer beyond what the key says.
    const Response first = proxy.get("/l/x", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(first.header("Cache-Status"), kStored);
    const Response second = proxy.get("/l/x", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(second.header("Cache-Status"), kHit);
    EXPECT_EQ(second.body, first.body);
    const Response german = proxy.get("/l/x?locale=de-DE");
    EXPECT_EQ(german.header("Cache-Status"), kStored); // another variant, another object
    EXPECT_EQ(fetches(origin, "/l/x"), 2u);
}

TEST(CacheInvalidation, SuccessfulUnsafeMethodsDropEveryVariantOfTheUrl) {
    ScriptedOrigin origin;
    origin.on_get("/l/item", numbered("item", {{"Cache-Control", "max-age=60"}}));
    origin.on("POST", "/l/item", [](OriginExchange& x) { x.respond(204, {}, ""); });
    origin.on("DELETE", "/l/item", [](OriginExchange& x) { x.respond(500, {}, "failed"); });
    LacquerProcess proxy(caching_config(origin, kConfig));
    ASSERT_TRUE(proxy.started());

    ASSERT_EQ(proxy.get("/l/item").header("Cache-Status"), kStored);
    // The same URL in another locale (from a header, so the URL stays the same).
    ASSERT_EQ(proxy.get("/l/item", {{"X-Lang", "de-DE"}}).header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/l/item").header("Cache-Status"), kHit);

    // An error answer changes nothing (the write did not happen).
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    EXPECT_EQ(client.request("DELETE", "/l/item").status, 500);
    EXPECT_EQ(proxy.get("/l/item").header("Cache-Status"), kHit);

    // A success drops both locale variants: the next GETs go to the origin.
    EXPECT_EQ(client.request("POST", "/l/item", {{"Content-Type", "text/plain"}}, "x").status, 204);
    const Response after = proxy.get("/l/item");
    EXPECT_EQ(after.header("Cache-Status"), kStored);
    EXPECT_EQ(after.body, "item #3");
    EXPECT_EQ(proxy.get("/l/item", {{"X-Lang", "de-DE"}}).header("Cache-Status"), kStored);
    EXPECT_EQ(fetches(origin, "/l/item"), 6u); // 4 GETs from the origin, DELETE, POST
}

TEST(CacheInvalidation, OtherUrlsSurvive) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        if (x.request().method == "PUT") {
            x.respond(200, {}, "ok");
        } else {
            x.respond(200, {{"Cache-Control", "max-age=60"}}, "body of " + x.request().target);
        }
    });
    LacquerProcess proxy(caching_config(origin, kConfig));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/v/a?id=1").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/v/a?id=12").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/v/b").header("Cache-Status"), kStored);
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    EXPECT_EQ(client.request("PUT", "/v/a?id=1", {}, "new").status, 200);
    EXPECT_EQ(proxy.get("/v/a?id=1").header("Cache-Status"), kStored); // dropped, fetched again
    EXPECT_EQ(proxy.get("/v/a?id=12").header("Cache-Status"), kHit);
    EXPECT_EQ(proxy.get("/v/b").header("Cache-Status"), kHit);
}

} // namespace
} // namespace lacquer::test
