// Cache poisoning: what a client sends outside the key cannot change what another client gets
// from the cache. The origin here reflects everything an application might trust (override
// headers, every query param, the method, a body) into the answer, so a poisoned object would
// show; the next client, sending nothing special, must get the clean one. Real lacquerd.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kRoutes = R"(routes:
  - name: keyed
    match: { path_prefix: /k/ }
    cache: { key_params: [id], ttl: 60s }
default_route:
  cache: { ttl: 60s }
)";

// An origin that trusts whatever it is sent: every header that names another host, URL or
// method, the query, the method and the body length end up in the answer.
void reflecting_origin(ScriptedOrigin& origin) {
    origin.on_any([](OriginExchange& x) {
        std::string body = x.request().method + " " + x.request().target;
        for (const char* name :
             {"X-Forwarded-Host", "X-Forwarded-Server", "X-Host", "Forwarded", "X-Original-URL",
              "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}) {
            const std::string value = x.request().header(name);
            if (!value.empty()) {
                body += std::string(" ") + name + "=" + value;
            }
        }
        body += " body=" + std::to_string(x.request().body.size());
        x.respond(200, {{"Cache-Control", "max-age=60"}}, body);
    });
}

const HeaderFields kHost{{"Host", "api.test"}};

// One request with a body on a new connection.
Response send(const LacquerProcess& proxy, std::string_view method, std::string_view target,
              const HeaderFields& headers, std::string_view body) {
    HttpClient client;
    if (!client.connect(proxy.port())) {
        return {};
    }
    return client.request(method, target, headers, body);
}

TEST(CachePoisoning, OverrideHeadersNeverReachTheOriginOnACacheFetch) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kRoutes)); // the default route forwards all
    ASSERT_TRUE(proxy.started());
    const HeaderFields evil{{"Host", "api.test"},
                            {"X-Forwarded-Host", "evil.example"},
                            {"X-Forwarded-Server", "evil.example"},
                            {"X-Host", "evil.example"},
                            {"Forwarded", "host=evil.example"},
                            {"X-Original-URL", "/admin"},
                            {"X-Rewrite-URL", "/admin"},
                            {"X-HTTP-Method-Override", "DELETE"},
                            {"X-HTTP-Method", "DELETE"},
                            {"X-Method-Override", "DELETE"}};
    const Response first = proxy.get("/d/item", evil);
    EXPECT_EQ(first.header("Cache-Status"), kStored);
    EXPECT_EQ(first.body, "GET /d/item body=0");
    const Response next = proxy.get("/d/item", kHost);
    EXPECT_EQ(next.header("Cache-Status"), kHit);
    EXPECT_EQ(next.body, "GET /d/item body=0");
    // A pass request is not shared: there the client's headers go on as sent.
    const Response passed = send(proxy, "POST", "/d/other", evil, "x");
    EXPECT_THAT(passed.body, HasSubstr("X-Forwarded-Host=evil.example"));
}

TEST(CachePoisoning, UnkeyedParamsAndFatGetBodiesCannotChangeTheStoredObject) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    // An unkeyed param is stripped before the origin sees it.
    const Response first = proxy.get("/k/item?id=1&callback=evil&utm=x", kHost);
    EXPECT_EQ(first.header("Cache-Status"), kStored);
    EXPECT_EQ(first.body, "GET /k/item?id=1 body=0");
    EXPECT_EQ(proxy.get("/k/item?id=1", kHost).body, "GET /k/item?id=1 body=0");
    // A GET with a body is passed to the origin, never stored, never served to others.
    const Response fat = send(proxy, "GET", "/k/fat?id=2", kHost, "poison");
    EXPECT_EQ(fat.body, "GET /k/fat?id=2 body=6");
    EXPECT_EQ(fat.header("Cache-Status"), kBypass);
    const Response clean = proxy.get("/k/fat?id=2", kHost);
    EXPECT_EQ(clean.header("Cache-Status"), kStored);
    EXPECT_EQ(clean.body, "GET /k/fat?id=2 body=0");
}

TEST(CachePoisoning, AnErrorCausedByABadRequestIsNeverStored) {
    ScriptedOrigin origin;
    reflecting_origin(origin);
    LacquerProcess proxy(caching_config(origin, kRoutes));
    ASSERT_TRUE(proxy.started());
    // A malformed percent-encoding in the key: 400 from lacquerd, nothing sent, nothing stored.
    EXPECT_EQ(proxy.get("/k/item?id=%zz", kHost).status, 400);
    EXPECT_EQ(origin.count("/k/item?id=%zz"), 0u);
    const Response good = proxy.get("/k/item?id=7", kHost);
    EXPECT_EQ(good.status, 200);
    EXPECT_EQ(good.header("Cache-Status"), kStored);
    EXPECT_THAT(good.body, Not(HasSubstr("%zz")));
}

} // namespace
} // namespace lacquer::test
