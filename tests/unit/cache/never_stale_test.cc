// The directives under which a stored response is never served stale, not even when the origin
// fails (RFC 9111 §5.2.2.2 must-revalidate, §5.2.2.8 proxy-revalidate, §5.2.2.10 s-maxage,
// §5.2.2.4 no-cache), whatever stale windows the route opens. Pure: ages are passed in.
#include "lacquer/cache/freshness.h"

#include <gtest/gtest.h>
#include <string_view>

namespace lacquer::cache {
namespace {

using namespace std::chrono_literals;

StoreDecision decide(std::string_view cache_control) {
    http::RequestHead request;
    request.method = "GET";
    http::ResponseHead response;
    response.status = 200;
    response.headers.items[response.headers.count++] = http::Header{"Cache-Control", cache_control};
    response.headers.items[response.headers.count++] = http::Header{"ETag", "\"v1\""};
    FreshnessPolicy route; // stale 10m, stale_if_error 15m
    return decide_storage(request, "GET", response, route, 0);
}

TEST(NeverStale, Rfc9111Section5_2_2TheseDirectivesCloseEveryStaleWindow) {
    for (const std::string_view cc : {"max-age=60, must-revalidate", "max-age=60, proxy-revalidate",
                                      "s-maxage=60", "no-cache, max-age=600"}) {
        const StoreDecision d = decide(cc);
        ASSERT_TRUE(d.storable()) << cc;
        const core::Millis expired = d.window.ttl + 1ms;
        EXPECT_EQ(classify(d.window, expired, OriginHealth::Up), Usability::Unusable) << cc;
        EXPECT_EQ(classify(d.window, expired, OriginHealth::Down), Usability::Unusable) << cc;
    }
    // Without them the route's windows apply.
    const StoreDecision plain = decide("max-age=60");
    EXPECT_EQ(classify(plain.window, 61s, OriginHealth::Down), Usability::StaleIfError);
}

TEST(NeverStale, Rfc9111Section5_2_2_4NoCacheIsNeverFreshEvenAtAgeZero) {
    const StoreDecision d = decide("no-cache, max-age=600");
    EXPECT_TRUE(d.window.must_revalidate);
    EXPECT_EQ(classify(d.window, 0ms, OriginHealth::Up), Usability::Unusable);
}

} // namespace
} // namespace lacquer::cache
