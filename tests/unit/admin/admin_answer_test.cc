// admin::answer(), the admin API's whole decision, without a socket: each route and what it
// answers, the methods each accepts (405), the bearer token in front of the cache API only
// (401), bad or missing query parameters (400), unknown paths (404), readiness (503), and which
// cache action runs with which arguments (a fake CacheControl records every call: a 4xx never
// calls one). Requests are real heads parsed by http::HeadParser.
#include "admin/routes_answer.h"
#include "lacquer/admin/admin_answer.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/metrics/route_usage.h"

#include <atomic>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <vector>

namespace lacquer::admin {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Matcher;

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kPrometheus = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kToken = "s3cret-t0ken";

// The purge, ban and stats actions, recorded one line per call; each answers `count`.
struct FakeCache {
    std::vector<std::string> calls;
    std::size_t count = 3;
    std::string stats = "{\"objects\": 7}\n";

    static std::string flag(bool soft) { return soft ? "soft" : "hard"; }
    std::size_t record(std::string line) {
        calls.push_back(std::move(line));
        return count;
    }
    CacheControl control() {
        CacheControl c;
        c.purge_url = [this](std::string_view url, std::string_view host, bool soft) {
            return record("purge_url " + std::string(url) + " host=" + std::string(host) + " " +
                          flag(soft));
        };
        c.purge_prefix = [this](std::string_view prefix, bool soft) {
            return record("purge_prefix " + std::string(prefix) + " " + flag(soft));
        };
        c.purge_tag = [this](std::string_view tag, bool soft) {
            return record("purge_tag " + std::string(tag) + " " + flag(soft));
        };
        // A regex with an unbalanced '(' stands for one that does not compile.
        c.ban = [this](std::string_view regex, std::string& error) -> std::optional<std::size_t> {
            const std::size_t n = record("ban " + std::string(regex));
            if (regex.find('(') != std::string_view::npos &&
                regex.find(')') == std::string_view::npos) {
                error = "missing )";
                return std::nullopt;
            }
            return n;
        };
        c.purge_all = [this] { return record("purge_all"); };
        c.stats_json = [this] {
            record("stats");
            return stats;
        };
        return c;
    }
};

class AdminAnswerTest : public ::testing::Test {
protected:
    AdminAnswerTest() {
        const std::uint32_t slot = registry_.counter("lacquer_test_total", "Test counter.");
        shard_a_.add(slot, 2);
        shard_b_.add(slot, 3);
    }

    AdminState state() {
        AdminState s;
        s.registry = &registry_;
        s.shards = {&shard_a_, &shard_b_};
        s.ready = &ready_;
        s.origin_up = [this] { return origin_up_; };
        s.cache = cache_.control();
        s.token = token_;
        s.config.effective = [this] {
            cache_.record("config");
            return std::string("workers: 2\n");
        };
        s.config.reload = [this] {
            cache_.record("reload");
            return reload_reply_;
        };
        return s;
    }

    // Parses `method target` (plus header lines) as a client would send it, and answers it.
    AdminAnswer ask(std::string_view method, std::string_view target,
                    std::string_view headers = "") {
        const std::string raw = std::string(method) + " " + std::string(target) +
                                " HTTP/1.1\r\nHost: admin\r\n" + std::string(headers) + "\r\n";
        http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{16 * 1024, 4 * 1024});
        const auto fed = parser.feed(raw.data(), raw.size());
        EXPECT_EQ(fed.status, http::HeadParser::Status::Complete) << raw;
        return answer(parser.request(), state());
    }

    metrics::Registry registry_;
    metrics::Shard shard_a_{16};
    metrics::Shard shard_b_{16};
    std::atomic<bool> ready_{true};
    bool origin_up_ = true;
    FakeCache cache_;
    std::string token_; // empty: no token asked
    ReloadReply reload_reply_{true, "applied generation 2"};
};

// --- Every route, one table --------------------------------------------------------------------

struct RouteCase {
    const char* name;
    std::string_view method;
    std::string_view target;
    int status;
    std::string_view content_type;
    Matcher<std::string> body;
    std::vector<std::string> calls; // the cache actions it runs, in order
};

void PrintTo(const RouteCase& c, std::ostream* os) {
    *os << c.name << ": " << c.method << " " << c.target;
}

const std::string kNotAllowed = "405 Method Not Allowed\n";
const std::string kPostOnly = "405 Method Not Allowed: purge and ban are POST\n";
const std::string kUnknown =
    "404 Not Found: /metrics, /healthz, /readyz, /purge/..., /ban, /stats, /origins, "
    "/origin/..., /routes, /log, /debug/object, /reload, /config\n";

const RouteCase kRoutes[] = {
    // Reads.
    {"Metrics", "GET", "/metrics", 200, kPrometheus, HasSubstr("\nlacquer_test_total 5\n"), {}},
    {"MetricsHead", "HEAD", "/metrics", 200, kPrometheus, HasSubstr("lacquer_test_total 5"), {}},
    {"MetricsIgnoresTheQuery",
     "GET",
     "/metrics?x=1",
     200,
     kPrometheus,
     HasSubstr("lacquer_test_total 5"),
     {}},
    {"Healthz", "GET", "/healthz", 200, kText, Eq("ok\n"), {}},
    {"HealthzHeadKeepsTheBodyForTheListenerToDrop", "HEAD", "/healthz", 200, kText, Eq("ok\n"), {}},
    {"Readyz", "GET", "/readyz", 200, kText, Eq("ready\n"), {}},
    {"Stats", "GET", "/stats", 200, kJson, Eq("{\"objects\": 7}\n"), {"stats"}},
    {"StatsHead", "HEAD", "/stats", 200, kJson, Eq("{\"objects\": 7}\n"), {"stats"}},
    {"Routes", "GET", "/routes", 200, kJson, HasSubstr("\"routes\": []"), {}},
    {"RoutesText", "GET", "/routes?x=1&format=text", 200, kText, HasSubstr("ROUTE "), {}},
    {"RoutesIsARead", "POST", "/routes", 405, kText, Eq(kNotAllowed), {}},
    // Purges and bans, with their parameters percent-decoded.
    {"PurgeUrl",
     "POST",
     "/purge/url?url=%2Fa%3Fb%3D1&host=api.test",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /a?b=1 host=api.test hard"}},
    {"PurgeUrlPlainAnyHost",
     "POST",
     "/purge/url?url=/plain",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /plain host= hard"}},
    {"PurgeUrlPlusIsASpace",
     "POST",
     "/purge/url?url=/a+b",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /a b host= hard"}},
    {"PurgeUrlFirstOfTwoWins",
     "POST",
     "/purge/url?url=/first&url=/second",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /first host= hard"}},
    {"PurgeUrlSoft",
     "POST",
     "/purge/url?soft=1&url=/s",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /s host= soft"}},
    {"PurgeUrlSoftZeroIsHard",
     "POST",
     "/purge/url?url=/s&soft=0",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /s host= hard"}},
    {"PurgeUrlSoftAnyOtherValueIsSoft",
     "POST",
     "/purge/url?url=/s&soft=yes",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_url /s host= soft"}},
    {"PurgePrefix",
     "POST",
     "/purge/prefix?path=/api/",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_prefix /api/ hard"}},
    {"PurgePrefixSoft",
     "POST",
     "/purge/prefix?path=%2Fapi%2F&soft=1",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_prefix /api/ soft"}},
    {"PurgeTag",
     "POST",
     "/purge/tag?tag=item-7",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_tag item-7 hard"}},
    {"PurgeTagSoft",
     "POST",
     "/purge/tag?tag=item%207&soft=1",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_tag item 7 soft"}},
    {"PurgeAll", "POST", "/purge/all", 200, kJson, Eq("{\"purged\": 3}\n"), {"purge_all"}},
    {"PurgeAllHasNoSoftForm",
     "POST",
     "/purge/all?soft=1",
     200,
     kJson,
     Eq("{\"purged\": 3}\n"),
     {"purge_all"}},
    {"Ban",
     "POST",
     "/ban?regex=%5E%2Fapi%2F.*",
     200,
     kJson,
     Eq("{\"banned\": 3}\n"),
     {"ban ^/api/.*"}},
    // Methods.
    {"MetricsPost", "POST", "/metrics", 405, kText, Eq(kNotAllowed), {}},
    {"HealthzPut", "PUT", "/healthz", 405, kText, Eq(kNotAllowed), {}},
    {"ReadyzDelete", "DELETE", "/readyz", 405, kText, Eq(kNotAllowed), {}},
    {"StatsPost", "POST", "/stats", 405, kText, Eq(kNotAllowed), {}},
    {"PurgeUrlGet", "GET", "/purge/url?url=/a", 405, kText, Eq(kPostOnly), {}},
    {"PurgeAllPut", "PUT", "/purge/all", 405, kText, Eq(kPostOnly), {}},
    {"PurgeAllHead", "HEAD", "/purge/all", 405, kText, Eq(kPostOnly), {}},
    {"BanGet", "GET", "/ban?regex=x", 405, kText, Eq(kPostOnly), {}},
    // The method is checked before the path under /purge/ is known.
    {"UnknownPurgeGet", "GET", "/purge/nothing", 405, kText, Eq(kPostOnly), {}},
    // Paths.
    {"Root", "GET", "/", 404, kText, Eq(kUnknown), {}},
    {"MetricsBelow", "GET", "/metrics/x", 404, kText, Eq(kUnknown), {}},
    {"HealthzSlash", "GET", "/healthz/", 404, kText, Eq(kUnknown), {}},
    {"StatsSlash", "GET", "/stats/", 404, kText, Eq(kUnknown), {}},
    {"PurgeWithoutSlash", "POST", "/purge", 404, kText, Eq(kUnknown), {}},
    {"UnknownPurge", "POST", "/purge/nothing?url=/a", 404, kText, Eq("404 Not Found\n"), {}},
    // Parameters.
    {"PurgeUrlMissing", "POST", "/purge/url", 400, kText, HasSubstr("url=/path?query"), {}},
    {"PurgeUrlEmpty", "POST", "/purge/url?url=", 400, kText, HasSubstr("url=/path?query"), {}},
    {"PurgeUrlNameOnly", "POST", "/purge/url?url", 400, kText, HasSubstr("url=/path?query"), {}},
    {"PurgeUrlRelative",
     "POST",
     "/purge/url?url=a/b",
     400,
     kText,
     HasSubstr("url=/path?query"),
     {}},
    {"PurgeUrlOtherName",
     "POST",
     "/purge/url?xurl=/a",
     400,
     kText,
     HasSubstr("url=/path?query"),
     {}},
    {"PurgeUrlCutEscape",
     "POST",
     "/purge/url?url=/a%2",
     400,
     kText,
     HasSubstr("url=/path?query"),
     {}},
    {"PurgeUrlBadEscape",
     "POST",
     "/purge/url?url=/a%zz",
     400,
     kText,
     HasSubstr("url=/path?query"),
     {}},
    {"PurgePrefixMissing", "POST", "/purge/prefix", 400, kText, HasSubstr("path=/prefix"), {}},
    {"PurgePrefixRelative",
     "POST",
     "/purge/prefix?path=api",
     400,
     kText,
     HasSubstr("path=/prefix"),
     {}},
    {"PurgeTagMissing", "POST", "/purge/tag", 400, kText, HasSubstr("tag=... is required"), {}},
    {"PurgeTagEmpty", "POST", "/purge/tag?tag=", 400, kText, HasSubstr("tag=... is required"), {}},
    {"BanMissing", "POST", "/ban", 400, kText, HasSubstr("regex=... is required"), {}},
    {"BanEmpty", "POST", "/ban?regex=", 400, kText, HasSubstr("regex=... is required"), {}},
    {"BanBadEscape", "POST", "/ban?regex=%G0", 400, kText, HasSubstr("regex=... is required"), {}},
    // The ban is tried; a regex that does not compile is the client's mistake.
    {"BanDoesNotCompile",
     "POST",
     "/ban?regex=%5E(a",
     400,
     kText,
     Eq("400 Bad Request: the regex does not compile: missing )\n"),
     {"ban ^(a"}},
};

class AdminRoutes : public AdminAnswerTest, public ::testing::WithParamInterface<RouteCase> {};

TEST_P(AdminRoutes, AnswerAndCacheActions) {
    const RouteCase& c = GetParam();
    const AdminAnswer a = ask(c.method, c.target);
    EXPECT_EQ(a.status, c.status);
    EXPECT_EQ(a.content_type, c.content_type);
    EXPECT_THAT(a.body, c.body);
    EXPECT_EQ(cache_.calls, c.calls);
}

INSTANTIATE_TEST_SUITE_P(Admin, AdminRoutes, ::testing::ValuesIn(kRoutes),
                         [](const ::testing::TestParamInfo<RouteCase>& param) {
                             return std::string(param.param.name);
                         });

TEST_F(AdminAnswerTest, RoutesSaysEachRoutesLastRequestAndRecentCounts) {
    metrics::Registry registry;
    const metrics::RouteUsageSlots api = registry.route_usage("api");
    registry.route_usage("old \"v1\"");
    metrics::Shard worker(registry.capacity());
    const core::ManualClock clock; // unix 1'700'000'000
    const std::int64_t now = clock.unix_seconds();
    metrics::record_route_request(worker, api, now - 2 * 3600); // in the day, not the hour
    metrics::record_route_request(worker, api, now - 30);
    AdminState s = state();
    s.registry = &registry;
    s.shards = {&worker};
    s.clock = &clock;
    const std::string raw = "GET /routes HTTP/1.1\r\nHost: admin\r\n\r\n";
    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{16 * 1024, 4 * 1024});
    ASSERT_EQ(parser.feed(raw.data(), raw.size()).status, http::HeadParser::Status::Complete);
    const AdminAnswer json = answer(parser.request(), s);
    EXPECT_EQ(json.status, 200);
    EXPECT_EQ(json.body, "{\"now\": 1700000000, \"routes\": [\n"
                         "  {\"route\": \"api\", \"last_request\": 1699999970, "
                         "\"requests_1h\": 1, \"requests_24h\": 2, \"requests_7d\": 2},\n"
                         "  {\"route\": \"old \\\"v1\\\"\", \"last_request\": null, "
                         "\"requests_1h\": 0, \"requests_24h\": 0, \"requests_7d\": 0}\n"
                         "]}\n");
    const std::vector<metrics::RouteUsage> usage =
        metrics::read_route_usage(registry, std::span<const metrics::Shard* const>(s.shards), now);
    EXPECT_EQ(routes_text(usage, now),
              "ROUTE     LAST REQUEST (UTC)                     1H       24H        7D\n"
              "api       2023-11-14T22:12:50Z  30s ago           1         2         2\n"
              "old \"v1\"  -                     never             0         0         0\n");
}

TEST_F(AdminAnswerTest, TheCountIsTheOneTheActionReturned) {
    cache_.count = 12345;
    EXPECT_EQ(ask("POST", "/purge/prefix?path=/").body, "{\"purged\": 12345}\n");
    cache_.count = 0;
    EXPECT_EQ(ask("POST", "/ban?regex=.").body, "{\"banned\": 0}\n");
}

// --- Readiness -----------------------------------------------------------------------------------

TEST_F(AdminAnswerTest, ReadyzSaysWhyItIsNotReady) {
    ready_ = false;
    AdminAnswer a = ask("GET", "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.body, "not ready: starting or stopping\n");
    EXPECT_EQ(ask("GET", "/healthz").status, 200); // alive all the same

    ready_ = true;
    origin_up_ = false;
    a = ask("GET", "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.body, "not ready: no pool that a route uses has a usable origin server\n");

    origin_up_ = true;
    EXPECT_EQ(ask("GET", "/readyz").status, 200);
}

TEST_F(AdminAnswerTest, ReadyzWithoutAReadyFlagIsNotReadyAndWithoutAnOriginCheckIsReady) {
    AdminState s = state();
    s.ready = nullptr;
    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{});
    const std::string raw = "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parser.feed(raw.data(), raw.size()).status, http::HeadParser::Status::Complete);
    EXPECT_EQ(answer(parser.request(), s).status, 503);

    s.ready = &ready_;
    s.origin_up = nullptr; // no origin check wired
    origin_up_ = false;
    EXPECT_EQ(answer(parser.request(), s).status, 200);
}

// --- The token -----------------------------------------------------------------------------------

TEST_F(AdminAnswerTest, WithATokenTheCacheApiAsksForExactlyThatBearer) {
    token_ = kToken;
    const std::string right = "Authorization: Bearer " + std::string(kToken) + "\r\n";
    const std::vector<std::string> wrong = {
        "",                                                 // none
        "Authorization: Bearer s3cret-t0keX\r\n",           // same length, last byte differs
        "Authorization: Bearer X3cret-t0ken\r\n",           // same length, first byte differs
        "Authorization: Bearer s3cret-t0ke\r\n",            // a prefix
        "Authorization: Bearer s3cret-t0ken2\r\n",          // longer
        "Authorization: Bearer \r\n",                       // empty
        "Authorization: Basic s3cret-t0ken\r\n",            // another scheme
        "Authorization: s3cret-t0ken\r\n",                  // no scheme
        "Authorization: Bearer  s3cret-t0ken\r\n",          // two spaces
        "X-Authorization: Bearer s3cret-t0ken\r\n",         // another header
        "Authorization: Bearer s3cret-t0ken, Bearer x\r\n", // more than the token
    };
    for (const std::string& header : wrong) {
        for (const auto& [method, target] :
             std::vector<std::pair<std::string_view, std::string_view>>{
                 {"POST", "/purge/all"},
                 {"POST", "/purge/url?url=/a"},
                 {"POST", "/ban?regex=x"},
                 {"GET", "/stats"},
                 // The token is checked first: no 405, 400 or 404 tells an unauthorised client
                 // anything about the API.
                 {"GET", "/purge/url"},
                 {"POST", "/purge/url"},
                 {"POST", "/purge/nothing"},
             }) {
            const AdminAnswer a = ask(method, target, header);
            EXPECT_EQ(a.status, 401) << method << " " << target << " with: " << header;
            EXPECT_THAT(a.body, HasSubstr("Authorization: Bearer <admin token>"));
        }
    }
    EXPECT_THAT(cache_.calls, IsEmpty());

    EXPECT_EQ(ask("POST", "/purge/all", right).status, 200);
    EXPECT_EQ(ask("GET", "/stats", right).status, 200);
    EXPECT_EQ(ask("POST", "/purge/url", right).status, 400); // now the parameters count
    EXPECT_THAT(cache_.calls, ElementsAre("purge_all", "stats"));
}

TEST_F(AdminAnswerTest, TheTokenDoesNotGuardProbesMetricsOrUnknownPaths) {
    token_ = kToken;
    EXPECT_EQ(ask("GET", "/metrics").status, 200);
    EXPECT_EQ(ask("GET", "/healthz").status, 200);
    EXPECT_EQ(ask("GET", "/readyz").status, 200);
    EXPECT_EQ(ask("GET", "/nothing").status, 404);
    EXPECT_EQ(ask("POST", "/metrics").status, 405);
}

TEST_F(AdminAnswerTest, WithoutATokenAnyAuthorizationIsIgnored) {
    EXPECT_EQ(ask("POST", "/purge/all", "Authorization: Bearer whatever\r\n").status, 200);
    EXPECT_EQ(ask("POST", "/purge/all").status, 200);
    EXPECT_THAT(cache_.calls, ElementsAre("purge_all", "purge_all"));
}

// --- POST /reload, GET /config (admin_config.cc) -----------------------------------------------

TEST_F(AdminAnswerTest, ReloadAnswersTheOutcomeAndConfigTheYaml) {
    AdminAnswer a = ask("POST", "/reload");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "applied generation 2\n");
    reload_reply_ = {false, "refused: t.yaml:3:5: bad"};
    a = ask("POST", "/reload");
    EXPECT_EQ(a.status, 422);
    EXPECT_EQ(a.body, "refused: t.yaml:3:5: bad\n");
    a = ask("GET", "/config");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.content_type, "application/yaml; charset=utf-8");
    EXPECT_EQ(a.body, "workers: 2\n");
    EXPECT_EQ(ask("GET", "/reload").status, 405); // a reload is never a GET
    EXPECT_EQ(ask("POST", "/config").status, 405);
    EXPECT_THAT(cache_.calls, ElementsAre("reload", "reload", "config"));
}

TEST_F(AdminAnswerTest, ReloadAndConfigNeedTheToken) {
    token_ = kToken;
    for (const auto& [method, target] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"POST", "/reload"}, {"GET", "/config"}, {"GET", "/reload"}}) {
        EXPECT_EQ(ask(method, target).status, 401) << target;
        EXPECT_EQ(ask(method, target, "Authorization: Bearer wrong\r\n").status, 401) << target;
    }
    EXPECT_THAT(cache_.calls, IsEmpty());
    const std::string right = "Authorization: Bearer " + std::string(kToken) + "\r\n";
    EXPECT_EQ(ask("POST", "/reload", right).status, 200);
    EXPECT_EQ(ask("GET", "/config", right).status, 200);
}

TEST_F(AdminAnswerTest, WithoutAConfigFileThereIsNothingToReload) {
    AdminState s = state();
    s.config.reload = nullptr;
    const std::string raw = "POST /reload HTTP/1.1\r\nHost: admin\r\n\r\n";
    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{16 * 1024, 4 * 1024});
    ASSERT_EQ(parser.feed(raw.data(), raw.size()).status, http::HeadParser::Status::Complete);
    EXPECT_EQ(answer(parser.request(), s).status, 404);
}

} // namespace
} // namespace lacquer::admin
