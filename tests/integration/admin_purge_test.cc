// Purge, ban and stats on the admin listener, against the real lacquerd: what they remove is
// proven by the next request going to the origin, what they keep by the next one being a hit.
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace cache_test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::string_view kRoutes = R"(variants:
  locale:
    sources: [header:X-Lang]
    values: [en-US, de-DE]
    default: en-US
    forward_header: X-Locale
routes:
  - name: listings
    match: { path_prefix: /v3/ }
    cache: { key_params: [limit], ttl: 60s, variants: [locale] }
)";

const HeaderFields kApi{{"Host", "api.test"}};
const HeaderFields kApiGerman{{"Host", "api.test"}, {"X-Lang", "de-DE"}};

Response admin_request(std::uint16_t port, std::string_view method, std::string_view target,
                       const HeaderFields& headers = {}) {
    HttpClient client;
    if (!client.connect(port)) {
        return {};
    }
    return client.request(method, target, headers);
}

class AdminPurge : public ::testing::Test {
protected:
    void SetUp() override {
        origin_.on_any([](OriginExchange& x) {
            x.respond(200, {{"Cache-Control", "max-age=600"}}, "body of " + x.request().target);
        });
    }
    // Stores the objects the tests purge: two locales of one URL, and two other URLs.
    void fill(LacquerProcess& proxy) {
        ASSERT_EQ(proxy.get("/v3/listings?limit=5", kApi).header("Cache-Status"), kStored);
        ASSERT_EQ(proxy.get("/v3/listings?limit=5", kApiGerman).header("Cache-Status"), kStored);
        ASSERT_EQ(proxy.get("/v3/listings?limit=10", kApi).header("Cache-Status"), kStored);
        ASSERT_EQ(proxy.get("/v3/users/1", kApi).header("Cache-Status"), kStored);
    }
    std::string status_of(LacquerProcess& proxy, std::string_view target,
                          const HeaderFields& headers = kApi) {
        return proxy.get(target, headers).header("Cache-Status");
    }
    ScriptedOrigin origin_;
};

TEST_F(AdminPurge, ByUrlTakesEveryVariantOfThatUrlOnly) {
    LacquerProcess proxy(caching_config(origin_, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    fill(proxy);
    // As clients write it: an unkeyed param and another order change nothing.
    const Response purged =
        admin_request(proxy.admin_port(), "POST",
                      "/purge/url?url=%2Fv3%2Flistings%3Futm%3Dx%26limit%3D5&host=api.test");
    EXPECT_EQ(purged.status, 200);
    EXPECT_EQ(purged.body, "{\"purged\": 2}\n");
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=5"), kStored);
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=5", kApiGerman), kStored);
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=10"), kHit);
    EXPECT_EQ(status_of(proxy, "/v3/users/1"), kHit);
    // Without a host: every host's copy.
    const Response any_host =
        admin_request(proxy.admin_port(), "POST", "/purge/url?url=%2Fv3%2Fusers%2F1");
    EXPECT_EQ(any_host.body, "{\"purged\": 1}\n");
    EXPECT_EQ(status_of(proxy, "/v3/users/1"), kStored);
}

TEST_F(AdminPurge, ByPrefixBanAndAll) {
    LacquerProcess proxy(caching_config(origin_, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    fill(proxy);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/prefix?path=/v3/users").body,
              "{\"purged\": 1}\n");
    EXPECT_EQ(status_of(proxy, "/v3/users/1"), kStored);
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=10"), kHit);

    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/ban?regex=limit%3D1%5B0-9%5D$").body,
              "{\"banned\": 1}\n");
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=10"), kStored);
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=5"), kHit);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/ban?regex=%28").status, 400);

    const Response stats = admin_request(proxy.admin_port(), "GET", "/stats");
    EXPECT_EQ(stats.status, 200);
    EXPECT_THAT(stats.body, HasSubstr("\"objects\": 4"));
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/all").body, "{\"purged\": 4}\n");
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=5"), kStored);
}

TEST(AdminPurgeTag, TakesTheObjectsWhoseTagsHeaderNamedTheTag) {
    ScriptedOrigin origin;
    answer_tagged_items(origin);
    LacquerProcess proxy(caching_config(origin, kTaggedItemsRoute).admin());
    ASSERT_TRUE(proxy.started());
    for (const char* path : {"/items/1", "/items/2", "/items/12"}) {
        ASSERT_EQ(proxy.get(path).header("Cache-Status"), kStored);
    }
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/tag?tag=item-1").body,
              "{\"purged\": 1}\n"); // item-12 is another tag, not a prefix match
    EXPECT_EQ(proxy.get("/items/1").header("Cache-Status"), kStored);
    EXPECT_EQ(proxy.get("/items/12").header("Cache-Status"), kHit);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/tag?tag=items").body,
              "{\"purged\": 3}\n");
    EXPECT_EQ(proxy.get("/items/2").header("Cache-Status"), kStored);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/tag").status, 400);
}

TEST_F(AdminPurge, SoftPurgeServesTheObjectStaleWhileOneRequestRefreshesIt) {
    LacquerProcess proxy(caching_config(origin_, kRoutes).admin());
    ASSERT_TRUE(proxy.started());
    fill(proxy);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST",
                            "/purge/url?url=%2Fv3%2Flistings%3Flimit%3D5&host=api.test&soft=1")
                  .body,
              "{\"purged\": 2}\n");
    // Still answered at once, stale, and exactly one refresh goes to the origin.
    const Response stale = proxy.get("/v3/listings?limit=5", kApi);
    EXPECT_EQ(stale.header("Cache-Status"), "lacquer; hit; fwd=stale");
    EXPECT_EQ(stale.body, "body of /v3/listings?limit=5");
    ASSERT_TRUE(origin_.wait_for_count("/v3/listings?limit=5", 3, 5s)); // 2 fills + 1 refresh
    // The refreshed object is fresh (stored right after the origin answers: only the answers
    // show when); the untouched ones never went to the origin again.
    EXPECT_TRUE(eventually(5s, [&] { return status_of(proxy, "/v3/listings?limit=5") == kHit; }));
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=10"), kHit);
    EXPECT_EQ(origin_.count("/v3/listings?limit=10"), 1u);

    // By prefix too.
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/prefix?path=/v3/users&soft=1").body,
              "{\"purged\": 1}\n");
    EXPECT_EQ(status_of(proxy, "/v3/users/1"), "lacquer; hit; fwd=stale");
}

TEST_F(AdminPurge, PurgeMethodOnTheClientPortFromAllowedAddressesOnly) {
    LacquerProcess allowed(caching_config(origin_, kRoutes)
                               .extra("admin:\n  address: 127.0.0.1:0\n"
                                      "  purge_from: [127.0.0.1/32, \"::1\"]\n"));
    ASSERT_TRUE(allowed.started());
    fill(allowed);
    HttpClient client;
    ASSERT_TRUE(client.connect(allowed.port()));
    const Response purged = client.request("PURGE", "/v3/listings?limit=5", kApi);
    EXPECT_EQ(purged.status, 200);
    EXPECT_EQ(purged.body, "{\"purged\": 2}\n"); // both locales of that URL
    EXPECT_EQ(status_of(allowed, "/v3/listings?limit=5"), kStored);
    EXPECT_EQ(status_of(allowed, "/v3/listings?limit=10"), kHit);
    EXPECT_EQ(origin_.count("/v3/listings?limit=5"), 3u); // two fills, then one after the purge
    EXPECT_EQ(client.get("/v3/users/1", kApi).header("Cache-Status"), kHit); // kept alive

    // Loopback is not in the list: 403, nothing removed, nothing sent to the origin.
    LacquerProcess refused(caching_config(origin_, kRoutes)
                               .extra("admin:\n  address: 127.0.0.1:0\n"
                                      "  purge_from: [10.0.0.0/8]\n"));
    ASSERT_TRUE(refused.started());
    ASSERT_EQ(refused.get("/v3/users/2", kApi).header("Cache-Status"), kStored);
    HttpClient other;
    ASSERT_TRUE(other.connect(refused.port()));
    EXPECT_EQ(other.request("PURGE", "/v3/users/2", kApi).status, 403);
    EXPECT_EQ(status_of(refused, "/v3/users/2"), kHit);
    EXPECT_EQ(origin_.count("/v3/users/2"), 1u);
}

TEST_F(AdminPurge, RequestsAreCheckedAndTheTokenIsRequiredWhenConfigured) {
    TempDir dir;
    const auto token_file = dir.path() / "admin.token";
    std::ofstream(token_file) << "s3cret\n";
    LacquerProcess proxy(
        caching_config(origin_, kRoutes)
            .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token_file.string() + "\n"));
    ASSERT_TRUE(proxy.started());
    ASSERT_NE(proxy.admin_port(), 0);
    fill(proxy);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/all").status, 401);
    EXPECT_EQ(
        admin_request(proxy.admin_port(), "POST", "/purge/all", {{"Authorization", "Bearer wrong"}})
            .status,
        401);
    EXPECT_EQ(status_of(proxy, "/v3/listings?limit=5"), kHit); // nothing was purged
    const HeaderFields auth{{"Authorization", "Bearer s3cret"}};
    EXPECT_EQ(admin_request(proxy.admin_port(), "GET", "/purge/all", auth).status, 405);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/url", auth).status, 400);
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/url?url=/x&soft=1", auth).body,
              "{\"purged\": 0}\n");
    EXPECT_EQ(admin_request(proxy.admin_port(), "POST", "/purge/all", auth).body,
              "{\"purged\": 4}\n");
    EXPECT_EQ(admin_request(proxy.admin_port(), "GET", "/metrics").status, 200); // no token
}

} // namespace
} // namespace lacquer::test
