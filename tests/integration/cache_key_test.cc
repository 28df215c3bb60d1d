// Cache keys end to end: which requests share a stored object, what the origin is shown of the
// client's request (stripped params, resolved variants, allow-listed headers), and which
// requests bypass the cache. The real lacquerd between real sockets and a ScriptedOrigin; each
// request from proxy.get() uses a new connection, so hits may come from either worker.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kKeyedRoutes = R"(routes:
  - name: keyed
    match: { path_prefix: /k/ }
    cache: { key_params: [a, b] }
  - name: rejecting
    match: { path_prefix: /rj/ }
    cache: { key_params: [a], unknown_params: reject }
  - name: passing_unknown
    match: { path_prefix: /up/ }
    cache: { key_params: [a], unknown_params: pass }
  - name: allow_listed_headers
    match: { path_prefix: /fh/ }
    cache: { key_params: [a], forward_headers: [Accept] }
  - name: forwards_credentials
    match: { path_prefix: /ah/ }
    cache: { key_params: [a], forward_headers: [Accept, Cookie, Authorization] }
  - name: passed
    match: { path_prefix: /pass/ }
    pass: true
)";

constexpr std::string_view kVariantConfig = R"(variants:
  locale:
    sources: [query:locale, cookie:locale, header:Accept-Language]
    values: [en-US, de-DE, fr-FR]
    default: en-US
    forward_header: X-Locale
routes:
  - name: localized
    match: { path_prefix: /v/ }
    cache: { key_params: [id], variants: [locale] }
  - name: localized_no_cookies
    match: { path_prefix: /vc/ }
    cache: { key_params: [id], variants: [locale], forward_headers: [Accept] }
)";

// Answers with the locale the origin was asked for, numbered: "de-DE #1".
OriginHandler echo_locale() {
    auto calls = std::make_shared<std::atomic<int>>(0);
    return [calls](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=600"}},
                  x.request().header("X-Locale") + " #" + std::to_string(++*calls));
    };
}

TEST(CacheKey, UnknownParamsAreStrippedBeforeTheOriginAndDoNotSplitTheKey) {
    ScriptedOrigin origin;
    origin.on_get("/k/strip", numbered("strip", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/k/strip?a=1&utm_source=mail");
    ASSERT_TRUE(first.complete) << first.summary();
    EXPECT_EQ(first.body, "strip #1");
    EXPECT_EQ(first.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->target, "/k/strip?a=1"); // the unkeyed param never reaches the origin

    Response second = proxy.get("/k/strip?utm_source=ads&a=1&fbclid=zz");
    EXPECT_EQ(second.body, "strip #1") << second.summary();
    EXPECT_EQ(second.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/k/strip"), 1u);
}

TEST(CacheKey, ParamOrderDoesNotMatter) {
    ScriptedOrigin origin;
    origin.on_get("/k/order", numbered("order", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/k/order?a=1&b=2");
    EXPECT_EQ(first.header("Cache-Status"), kStored) << first.summary();
    Response swapped = proxy.get("/k/order?b=2&a=1");
    EXPECT_EQ(swapped.body, "order #1") << swapped.summary();
    EXPECT_EQ(swapped.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/k/order"), 1u);
}

TEST(CacheKey, PercentEncodedParamNamesAreNormalised) {
    ScriptedOrigin origin;
    origin.on_get("/k/pct", numbered("pct", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/k/pct?a=1");
    EXPECT_EQ(first.header("Cache-Status"), kStored) << first.summary();
    Response encoded = proxy.get("/k/pct?%61=1");
    EXPECT_EQ(encoded.body, "pct #1") << encoded.summary();
    EXPECT_EQ(encoded.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/k/pct"), 1u);
}

TEST(CacheKey, DifferentValuesOfAKeyedParamAreDifferentObjects) {
    ScriptedOrigin origin;
    origin.on_get("/k/values", numbered("values", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    EXPECT_EQ(proxy.get("/k/values?a=1").body, "values #1");
    Response other = proxy.get("/k/values?a=2");
    EXPECT_EQ(other.body, "values #2") << other.summary();
    EXPECT_EQ(other.header("Cache-Status"), kStored);
    ASSERT_EQ(fetches(origin, "/k/values"), 2u);
    EXPECT_EQ(origin.last_request()->target, "/k/values?a=2");

    Response one = proxy.get("/k/values?a=1");
    EXPECT_EQ(one.body, "values #1") << one.summary();
    EXPECT_EQ(one.header("Cache-Status"), kHit);
    Response two = proxy.get("/k/values?a=2");
    EXPECT_EQ(two.body, "values #2") << two.summary();
    EXPECT_EQ(fetches(origin, "/k/values"), 2u);
}

TEST(CacheKey, UnknownParamsRejectAnswers400WithoutAskingTheOrigin) {
    ScriptedOrigin origin;
    origin.on_get("/rj/x", numbered("reject", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response rejected = proxy.get("/rj/x?a=1&debug=1");
    ASSERT_TRUE(rejected.complete) << rejected.summary();
    EXPECT_EQ(rejected.status, 400);
    EXPECT_EQ(origin.total_requests(), 0u);

    Response allowed = proxy.get("/rj/x?a=1");
    EXPECT_EQ(allowed.status, 200) << allowed.summary();
    EXPECT_EQ(allowed.header("Cache-Status"), kStored);
    EXPECT_EQ(origin.total_requests(), 1u);
}

TEST(CacheKey, UnknownParamsPassForwardsTheOriginalQueryAndNeverStores) {
    ScriptedOrigin origin;
    origin.on_get("/up/x", numbered("pass-params", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    for (int i = 1; i <= 2; ++i) {
        Response r = proxy.get("/up/x?a=1&zzz=2");
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "pass-params #" + std::to_string(i));
        EXPECT_EQ(r.header("Cache-Status"), kBypass);
        EXPECT_EQ(origin.last_request()->target, "/up/x?a=1&zzz=2");
    }
    // Only known params: cached as usual.
    EXPECT_EQ(proxy.get("/up/x?a=1").header("Cache-Status"), kStored);
    Response hit = proxy.get("/up/x?a=1");
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, "pass-params #3");
    EXPECT_EQ(fetches(origin, "/up/x"), 3u);
}

TEST(CacheForwarding, OnlyAllowListedHeadersReachTheOrigin) {
    ScriptedOrigin origin;
    origin.on_get("/fh/x", numbered("headers", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response r = proxy.get(
        "/fh/x?a=1",
        {{"Accept", "application/json"}, {"X-Secret", "s3cr3t"}, {"User-Agent", "cache-test"}});
    ASSERT_TRUE(r.complete) << r.summary();
    EXPECT_EQ(r.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->header("Accept"), "application/json");
    EXPECT_FALSE(seen->has_header("X-Secret"));
    EXPECT_FALSE(seen->has_header("User-Agent"));
}

TEST(CachePass, PassRouteIsForwardedEveryTimeAndNeverStored) {
    ScriptedOrigin origin;
    origin.on_get("/pass/x", numbered("passed", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    for (int i = 1; i <= 2; ++i) {
        Response r = proxy.get("/pass/x?any=thing");
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, "passed #" + std::to_string(i));
        EXPECT_EQ(r.header("Cache-Status"), kBypass);
    }
    EXPECT_EQ(origin.last_request()->target, "/pass/x?any=thing");
    EXPECT_EQ(fetches(origin, "/pass/x"), 2u);
}

TEST(CachePass, ForwardedCookieOrAuthorizationBypassesTheCache) {
    ScriptedOrigin origin;
    origin.on_get("/ah/x", numbered("creds", {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    Response cookie = proxy.get("/ah/x?a=1", {{"Cookie", "session=abc"}});
    EXPECT_EQ(cookie.header("Cache-Status"), kBypass) << cookie.summary();
    EXPECT_EQ(cookie.body, "creds #1");
    EXPECT_EQ(origin.last_request()->header("Cookie"), "session=abc");

    Response auth = proxy.get("/ah/x?a=1", {{"Authorization", "Bearer t0ken"}});
    EXPECT_EQ(auth.header("Cache-Status"), kBypass) << auth.summary();
    EXPECT_EQ(auth.body, "creds #2");
    EXPECT_EQ(origin.last_request()->header("Authorization"), "Bearer t0ken");

    // Neither personalised answer was stored: an anonymous request is a miss, then hits.
    Response anonymous = proxy.get("/ah/x?a=1");
    EXPECT_EQ(anonymous.body, "creds #3") << anonymous.summary();
    EXPECT_EQ(anonymous.header("Cache-Status"), kStored);
    // ...and a credentialed request still bypasses the now stored object.
    Response after = proxy.get("/ah/x?a=1", {{"Cookie", "session=def"}});
    EXPECT_EQ(after.header("Cache-Status"), kBypass) << after.summary();
    EXPECT_EQ(after.body, "creds #4");
    EXPECT_EQ(fetches(origin, "/ah/x"), 4u);
}

TEST(CacheVariants, QueryParamAndAcceptLanguageSelectTheSameObject) {
    ScriptedOrigin origin;
    origin.on_get("/v/page", echo_locale());
    LacquerProcess proxy(caching_config(origin, kVariantConfig));
    ASSERT_TRUE(proxy.started());

    Response by_param = proxy.get("/v/page?id=7&locale=de-DE");
    ASSERT_TRUE(by_param.complete) << by_param.summary();
    EXPECT_EQ(by_param.body, "de-DE #1");
    EXPECT_EQ(by_param.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_THAT(header_values(seen->headers, "X-Locale"), ElementsAre("de-DE"));

    Response by_language = proxy.get("/v/page?id=7", {{"Accept-Language", "de-AT,de;q=0.9"}});
    EXPECT_EQ(by_language.body, "de-DE #1") << by_language.summary();
    EXPECT_EQ(by_language.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/v/page"), 1u);
}

TEST(CacheVariants, EachAllowedValueIsItsOwnObjectAndUnknownValuesUseTheDefault) {
    ScriptedOrigin origin;
    origin.on_get("/v/values", echo_locale());
    LacquerProcess proxy(caching_config(origin, kVariantConfig));
    ASSERT_TRUE(proxy.started());

    Response plain = proxy.get("/v/values?id=1");
    EXPECT_EQ(plain.body, "en-US #1") << plain.summary();
    EXPECT_EQ(plain.header("Cache-Status"), kStored);

    Response unknown = proxy.get("/v/values?id=1&locale=xx-XX");
    EXPECT_EQ(unknown.body, "en-US #1") << unknown.summary();
    EXPECT_EQ(unknown.header("Cache-Status"), kHit);

    Response french = proxy.get("/v/values?id=1&locale=fr-FR");
    EXPECT_EQ(french.body, "fr-FR #2") << french.summary();
    EXPECT_EQ(french.header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/v/values?id=1&locale=fr-FR").body, "fr-FR #2");
    EXPECT_EQ(proxy.get("/v/values?id=1&locale=en-US").body, "en-US #1");
    EXPECT_EQ(fetches(origin, "/v/values"), 2u);
}

TEST(CacheVariants, ClientSentForwardHeaderNeverReachesTheOrigin) {
    ScriptedOrigin origin;
    origin.on_get("/v/evil", echo_locale());
    origin.on_get("/v/evil-default", echo_locale());
    LacquerProcess proxy(caching_config(origin, kVariantConfig));
    ASSERT_TRUE(proxy.started());

    Response resolved = proxy.get("/v/evil?id=1&locale=fr-FR", {{"X-Locale", "evil"}});
    EXPECT_EQ(resolved.body, "fr-FR #1") << resolved.summary();
    auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_THAT(header_values(seen->headers, "X-Locale"), ElementsAre("fr-FR"));

    Response defaulted = proxy.get("/v/evil-default?id=1", {{"X-Locale", "evil"}});
    EXPECT_EQ(defaulted.body, "en-US #1") << defaulted.summary();
    EXPECT_EQ(defaulted.header("Cache-Status"), kStored);
    seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_THAT(header_values(seen->headers, "X-Locale"), ElementsAre("en-US"));

    // The client's X-Locale is not a source: without it the same object is served.
    Response clean = proxy.get("/v/evil-default?id=1");
    EXPECT_EQ(clean.body, "en-US #1") << clean.summary();
    EXPECT_EQ(clean.header("Cache-Status"), kHit);
}

// Cookie is a variant source here, and the route does not forward Cookie to the origin, so the
// request carries no credentials the origin could see: it is cacheable like any other.
TEST(CacheVariants, LocaleCookieSelectsTheObjectWhenCookiesAreNotForwarded) {
    ScriptedOrigin origin;
    origin.on_get("/vc/page", echo_locale());
    LacquerProcess proxy(caching_config(origin, kVariantConfig));
    ASSERT_TRUE(proxy.started());

    Response by_cookie = proxy.get("/vc/page?id=3", {{"Cookie", "theme=dark; locale=fr-FR"}});
    EXPECT_EQ(by_cookie.body, "fr-FR #1") << by_cookie.summary();
    EXPECT_EQ(by_cookie.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    EXPECT_FALSE(seen->has_header("Cookie"));

    Response by_param = proxy.get("/vc/page?id=3&locale=fr-FR");
    EXPECT_EQ(by_param.body, "fr-FR #1") << by_param.summary();
    EXPECT_EQ(by_param.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/vc/page"), 1u);
}

// No routes at all: every request takes the default route (CONFIG.md, "The default route").
TEST(CacheDefaultRoute, ResponsesWithoutFreshnessAreNotStored) {
    ScriptedOrigin origin;
    origin.on_get("/d/plain", numbered("plain", {{"Content-Type", "text/plain"}}));
    LacquerProcess proxy(caching_config(origin));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/d/plain?q=1");
    ASSERT_TRUE(first.complete) << first.summary();
    EXPECT_EQ(first.header("Cache-Status"), not_stored("no_freshness"));
    Response second = proxy.get("/d/plain?q=1");
    EXPECT_EQ(second.body, "plain #2") << second.summary();
    EXPECT_THAT(second.header("Cache-Status"), Not(HasSubstr("hit")));
    EXPECT_EQ(fetches(origin, "/d/plain"), 2u);
}

TEST(CacheDefaultRoute, MaxAgeResponsesAreStoredWithEveryParamInTheKey) {
    ScriptedOrigin origin;
    origin.on_get("/d/fresh", numbered("fresh", {{"Cache-Control", "max-age=60"}}));
    LacquerProcess proxy(caching_config(origin));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get("/d/fresh?b=2&a=1");
    EXPECT_EQ(first.header("Cache-Status"), kStored) << first.summary();
    Response sorted = proxy.get("/d/fresh?a=1&b=2");
    EXPECT_EQ(sorted.body, "fresh #1") << sorted.summary();
    EXPECT_EQ(sorted.header("Cache-Status"), kHit);

    // Every param is keyed and forwarded: one more param is another object.
    Response extra = proxy.get("/d/fresh?a=1&b=2&c=3");
    EXPECT_EQ(extra.body, "fresh #2") << extra.summary();
    EXPECT_EQ(extra.header("Cache-Status"), kStored);
    ASSERT_EQ(fetches(origin, "/d/fresh"), 2u);
    EXPECT_THAT(origin.last_request()->target, HasSubstr("c=3"));
}

TEST(CacheDefaultRoute, CookieOrAuthorizationIsPassed) {
    ScriptedOrigin origin;
    origin.on_get("/d/creds", numbered("creds", {{"Cache-Control", "max-age=60"}}));
    LacquerProcess proxy(caching_config(origin));
    ASSERT_TRUE(proxy.started());

    Response cookie = proxy.get("/d/creds", {{"Cookie", "session=1"}});
    EXPECT_EQ(cookie.header("Cache-Status"), kBypass) << cookie.summary();
    Response auth = proxy.get("/d/creds", {{"Authorization", "Basic dTpw"}});
    EXPECT_EQ(auth.header("Cache-Status"), kBypass) << auth.summary();
    EXPECT_EQ(origin.last_request()->header("Authorization"), "Basic dTpw");

    Response anonymous = proxy.get("/d/creds");
    EXPECT_EQ(anonymous.body, "creds #3") << anonymous.summary();
    EXPECT_EQ(anonymous.header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/d/creds").header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, "/d/creds"), 3u);
}

} // namespace
} // namespace lacquer::test
