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

// Two requests that must share one stored object: the first is forwarded and stored, the
// second is a hit on it, and the origin is asked once.
struct SharedObjectCase {
    const char* name;
    std::string_view config; // kKeyedRoutes or kVariantConfig
    std::string path;        // where the origin answers
    std::string label{};     // the origin's numbered body; empty: it echoes X-Locale
    std::string first;
    HeaderFields first_headers{};
    std::string second;
    HeaderFields second_headers{};
    std::string body; // of both answers
    // What the origin was shown of the first request; each is checked when not empty.
    std::string origin_target{};
    std::string origin_locale{}; // the one X-Locale header
    std::string origin_lacks{};  // a header that must not reach the origin
};

void PrintTo(const SharedObjectCase& c, std::ostream* os) {
    *os << c.name;
}

const SharedObjectCase kSharedObjects[] = {
    // The unkeyed param never reaches the origin, and does not split the key.
    {.name = "UnknownParamsAreStrippedBeforeTheOriginAndDoNotSplitTheKey",
     .config = kKeyedRoutes,
     .path = "/k/strip",
     .label = "strip",
     .first = "/k/strip?a=1&utm_source=mail",
     .second = "/k/strip?utm_source=ads&a=1&fbclid=zz",
     .body = "strip #1",
     .origin_target = "/k/strip?a=1"},
    {.name = "ParamOrderDoesNotMatter",
     .config = kKeyedRoutes,
     .path = "/k/order",
     .label = "order",
     .first = "/k/order?a=1&b=2",
     .second = "/k/order?b=2&a=1",
     .body = "order #1"},
    {.name = "PercentEncodedParamNamesAreNormalised",
     .config = kKeyedRoutes,
     .path = "/k/pct",
     .label = "pct",
     .first = "/k/pct?a=1",
     .second = "/k/pct?%61=1",
     .body = "pct #1"},
    {.name = "QueryParamAndAcceptLanguageSelectTheSameObject",
     .config = kVariantConfig,
     .path = "/v/page",
     .first = "/v/page?id=7&locale=de-DE",
     .second = "/v/page?id=7",
     .second_headers = {{"Accept-Language", "de-AT,de;q=0.9"}},
     .body = "de-DE #1",
     .origin_locale = "de-DE"},
    // Cookie is a variant source here, and the route does not forward Cookie to the origin, so
    // the request carries no credentials the origin could see: it is cacheable like any other.
    {.name = "LocaleCookieSelectsTheObjectWhenCookiesAreNotForwarded",
     .config = kVariantConfig,
     .path = "/vc/page",
     .first = "/vc/page?id=3",
     .first_headers = {{"Cookie", "theme=dark; locale=fr-FR"}},
     .second = "/vc/page?id=3&locale=fr-FR",
     .body = "fr-FR #1",
     .origin_lacks = "Cookie"},
};

class SharedObject : public ::testing::TestWithParam<SharedObjectCase> {};

TEST_P(SharedObject, TheFirstIsStoredAndTheSecondIsAHit) {
    const SharedObjectCase& c = GetParam();
    ScriptedOrigin origin;
    origin.on_get(c.path, c.label.empty() ? echo_locale()
                                          : numbered(c.label, {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, c.config));
    ASSERT_TRUE(proxy.started());

    Response first = proxy.get(c.first, c.first_headers);
    ASSERT_TRUE(first.complete) << first.summary();
    EXPECT_EQ(first.body, c.body);
    EXPECT_EQ(first.header("Cache-Status"), kStored);
    const auto seen = origin.last_request();
    ASSERT_TRUE(seen.has_value());
    if (!c.origin_target.empty()) {
        EXPECT_EQ(seen->target, c.origin_target);
    }
    if (!c.origin_locale.empty()) {
        EXPECT_THAT(header_values(seen->headers, "X-Locale"), ElementsAre(c.origin_locale));
    }
    if (!c.origin_lacks.empty()) {
        EXPECT_FALSE(seen->has_header(c.origin_lacks));
    }

    Response second = proxy.get(c.second, c.second_headers);
    EXPECT_EQ(second.body, c.body) << second.summary();
    EXPECT_EQ(second.header("Cache-Status"), kHit);
    EXPECT_EQ(fetches(origin, c.path), 1u);
}

INSTANTIATE_TEST_SUITE_P(CacheKey, SharedObject, ::testing::ValuesIn(kSharedObjects),
                         [](const ::testing::TestParamInfo<SharedObjectCase>& param) {
                             return std::string(param.param.name);
                         });

// Requests that go to the origin every time, as the client sent them, and are never stored.
struct BypassCase {
    const char* name;
    std::string path;
    std::string label;  // the origin's numbered body
    std::string target; // sent twice
    // Not empty: afterwards this request (only known params) is cached as usual, which shows
    // that the bypassed answers were not stored under its key either.
    std::string keyed_target{};
};

void PrintTo(const BypassCase& c, std::ostream* os) {
    *os << c.name;
}

const BypassCase kBypasses[] = {
    {.name = "UnknownParamsPassForwardsTheOriginalQueryAndNeverStores",
     .path = "/up/x",
     .label = "pass-params",
     .target = "/up/x?a=1&zzz=2",
     .keyed_target = "/up/x?a=1"},
    {.name = "PassRouteIsForwardedEveryTimeAndNeverStored",
     .path = "/pass/x",
     .label = "passed",
     .target = "/pass/x?any=thing"},
};

class Bypass : public ::testing::TestWithParam<BypassCase> {};

TEST_P(Bypass, ForwardedAsSentEveryTimeAndNeverStored) {
    const BypassCase& c = GetParam();
    ScriptedOrigin origin;
    origin.on_get(c.path, numbered(c.label, {{"Cache-Control", "max-age=600"}}));
    LacquerProcess proxy(caching_config(origin, kKeyedRoutes));
    ASSERT_TRUE(proxy.started());

    for (int i = 1; i <= 2; ++i) {
        Response r = proxy.get(c.target);
        ASSERT_TRUE(r.complete) << r.summary();
        EXPECT_EQ(r.body, c.label + " #" + std::to_string(i));
        EXPECT_EQ(r.header("Cache-Status"), kBypass);
        EXPECT_EQ(origin.last_request()->target, c.target);
    }
    EXPECT_EQ(fetches(origin, c.path), 2u);
    if (c.keyed_target.empty()) {
        return;
    }
    EXPECT_EQ(proxy.get(c.keyed_target).header("Cache-Status"), kStored);
    Response hit = proxy.get(c.keyed_target);
    EXPECT_EQ(hit.header("Cache-Status"), kHit) << hit.summary();
    EXPECT_EQ(hit.body, c.label + " #3");
    EXPECT_EQ(fetches(origin, c.path), 3u);
}

INSTANTIATE_TEST_SUITE_P(CacheKey, Bypass, ::testing::ValuesIn(kBypasses),
                         [](const ::testing::TestParamInfo<BypassCase>& param) {
                             return std::string(param.param.name);
                         });

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
