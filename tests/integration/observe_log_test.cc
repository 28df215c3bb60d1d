// The live transaction log (GET /log) and the inspection of one URL (GET /debug/object) against
// the real lacquerd and a scripted origin: filters select exactly the records they name, a miss
// shows its fetch and its origin server, a stalled reader loses records without slowing the
// proxy (and is told how many), three locale variants show as three objects with their fields,
// and the admin token on the client port is an ordinary request.
#include "cache_test_support.h"
#include "support/gate.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"

#include <algorithm>
#include <charconv>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace lacquer::test {
namespace {

using namespace cache_test;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kToken = "watch-t0ken-5e2b";

constexpr std::string_view kRoutes = R"(variants:
  locale:
    sources: [header:X-Lang]
    values: [en-US, de-DE, fr-FR]
    default: en-US
    forward_header: X-Locale
routes:
  - name: listings
    match: { path_prefix: /v3/ }
    cache: { key_params: [limit], ttl: 60s, stale: 30s, stale_if_error: 90s, variants: [locale],
             tags_header: Surrogate-Key }
  - name: direct
    match: { path_prefix: /p/ }
    pass: true
)";

const HeaderFields kApi{{"Host", "api.test"}};

// A watcher of GET /log on its own connection: the stream's lines as they arrive.
class LogWatcher {
public:
    LogWatcher(std::uint16_t admin_port, std::string_view query) {
        EXPECT_TRUE(client_.connect(admin_port));
        EXPECT_TRUE(client_.send_raw("GET /log?" + std::string(query) +
                                     " HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer " +
                                     std::string(kToken) + "\r\n\r\n"));
    }
    // The complete lines so far (chunks decoded), reading for up to `wait` for `n` of them.
    std::vector<std::string> lines(std::size_t n = 0, Millis wait = 0ms) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            std::vector<std::string> out = decode();
            if (out.size() >= n && wait == 0ms) {
                return out;
            }
            if (out.size() >= n || std::chrono::steady_clock::now() >= deadline) {
                return out;
            }
            (void)client_.received_contains("\x01 never sent", 20ms);
        }
    }
    // Records only (drop notices aside), after waiting up to `wait` for `n` and then a little
    // more for any that should not be there.
    std::vector<std::string> records(std::size_t n, Millis wait = 5s) {
        (void)lines(n, wait);
        (void)client_.received_contains("\x01 never sent", 150ms);
        std::vector<std::string> out;
        for (std::string& line : lines()) {
            if (!line.starts_with("# ") && !line.starts_with("{\"dropped\"")) {
                out.push_back(std::move(line));
            }
        }
        return out;
    }
    HttpClient& client() { return client_; }

private:
    std::vector<std::string> decode() const {
        const std::string& raw = client_.received();
        std::size_t at = raw.find("\r\n\r\n");
        std::string body;
        if (at == std::string::npos) {
            return {};
        }
        for (at += 4;;) {
            const std::size_t eol = raw.find("\r\n", at);
            if (eol == std::string::npos) {
                break;
            }
            std::size_t size = 0;
            std::from_chars(raw.data() + at, raw.data() + eol, size, 16);
            if (size == 0 || eol + 2 + size + 2 > raw.size()) {
                break;
            }
            body.append(raw, eol + 2, size);
            at = eol + 2 + size + 2;
        }
        std::vector<std::string> out;
        for (std::size_t from = 0, nl; (nl = body.find('\n', from)) != std::string::npos;
             from = nl + 1) {
            out.push_back(body.substr(from, nl - from));
        }
        return out;
    }
    HttpClient client_;
};

class ObserveLog : public ::testing::Test {
protected:
    void SetUp() override {
        token_file_ = dir_.write_file("admin.token", std::string(kToken) + "\n");
        origin_.on_any([](OriginExchange& x) {
            const std::string& path = x.request().path;
            if (path.starts_with("/p/slow")) {
                (void)x.sleep_for(300ms); // the origin's delay that `slower` must see
            }
            if (path.starts_with("/p/err")) {
                x.respond(503, {}, "origin down");
                return;
            }
            x.respond(200,
                      {{"Cache-Control", "max-age=600"},
                       {"ETag", "\"v-" + x.request().header("X-Locale") + "\""},
                       {"Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"},
                       {"Surrogate-Key", "listing " + x.request().header("X-Locale")}},
                      "body of " + x.request().target);
        });
        proxy_ = std::make_unique<LacquerProcess>(
            caching_config(origin_, kRoutes)
                .extra("admin:\n  address: 127.0.0.1:0\n  token_file: " + token_file_.string() +
                       "\n"));
        ASSERT_TRUE(proxy_->started());
        ASSERT_NE(proxy_->admin_port(), 0);
    }
    void wait_watchers(double n) {
        ASSERT_TRUE(
            expect_metric(proxy_->admin_port(), "lacquer_transaction_log_watchers", n, 5s, ""));
    }
    Response admin_get(std::string_view target, bool with_token = true) {
        HttpClient c;
        EXPECT_TRUE(c.connect(proxy_->admin_port()));
        HeaderFields h;
        if (with_token) {
            h.push_back({"Authorization", "Bearer " + std::string(kToken)});
        }
        return c.get(target, h);
    }

    TempDir dir_{"observe-log"};
    std::filesystem::path token_file_;
    ScriptedOrigin origin_;
    std::unique_ptr<LacquerProcess> proxy_;
};

TEST_F(ObserveLog, FiltersSelectExactlyTheRecordsTheyName) {
    LogWatcher by_url(proxy_->admin_port(), "url=%5E%2Fv3%2Fa");
    LogWatcher errors(proxy_->admin_port(), "status=5xx&format=json");
    LogWatcher direct(proxy_->admin_port(), "route=direct");
    LogWatcher slow(proxy_->admin_port(), "slower=200");
    LogWatcher everything(proxy_->admin_port(), "count=6");
    wait_watchers(5);
    EXPECT_EQ(proxy_->get("/v3/a?limit=1", kApi).header("Cache-Status"), kStored);
    EXPECT_EQ(proxy_->get("/v3/a?limit=1", kApi).header("Cache-Status"), kHit);
    EXPECT_EQ(proxy_->get("/v3/b", kApi).status, 200);
    EXPECT_EQ(proxy_->get("/p/err", kApi).status, 503);
    EXPECT_EQ(proxy_->get("/p/ok", kApi).status, 200);
    EXPECT_EQ(proxy_->get("/p/slow", kApi).status, 200);

    // Once the unfiltered watcher has all six, every watcher has been offered every record.
    ASSERT_EQ(everything.records(6).size(), 6u);
    // Each worker has its own ring: records of different connections come in any order.
    const auto sorted = [](std::vector<std::string> lines) {
        std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
            return a.substr(a.find(" GET ")) < b.substr(b.find(" GET "));
        });
        return lines;
    };
    const auto url = sorted(by_url.records(2));
    ASSERT_EQ(url.size(), 2u);
    EXPECT_THAT(url[0], HasSubstr(" GET api.test /v3/a?limit=1 200 hit route=listings "));
    EXPECT_THAT(url[1], HasSubstr(" GET api.test /v3/a?limit=1 200 miss route=listings "));
    const auto err = errors.records(1);
    ASSERT_EQ(err.size(), 1u);
    EXPECT_THAT(err[0], AllOf(HasSubstr("\"url\": \"/p/err\""), HasSubstr("\"status\": 503"),
                              HasSubstr("\"route\": \"direct\"")));
    const auto pass = sorted(direct.records(3));
    ASSERT_EQ(pass.size(), 3u);
    EXPECT_THAT(pass[0], HasSubstr(" /p/err 503 pass route=direct "));
    EXPECT_THAT(pass[1], HasSubstr(" /p/ok 200 pass route=direct "));
    EXPECT_THAT(pass[2], HasSubstr(" /p/slow 200 pass route=direct "));
    const auto slower = slow.records(1);
    ASSERT_EQ(slower.size(), 1u);
    EXPECT_THAT(slower[0], HasSubstr(" /p/slow 200 "));
    // The stream with count=6 ended by itself: the watcher left.
    EXPECT_TRUE(everything.client().is_closed_by_peer(5s));
}

TEST_F(ObserveLog, AMissShowsItsFetchStepsItsOriginServerAndItsVariant) {
    LogWatcher watcher(proxy_->admin_port(), "format=json&cache=miss");
    wait_watchers(1);
    EXPECT_EQ(proxy_->get("/v3/m?limit=2&utm=x", {{"Host", "api.test"}, {"X-Lang", "de-DE"}})
                  .header("Cache-Status"),
              kStored);
    const auto records = watcher.records(1);
    ASSERT_EQ(records.size(), 1u);
    const std::string& r = records[0];
    EXPECT_THAT(r, HasSubstr("\"client\": \"127.0.0.1\", \"method\": \"GET\", \"host\": "
                             "\"api.test\", \"url\": \"/v3/m?limit=2&utm=x\", \"route\": "
                             "\"listings\", \"key\": \"G\\napi.test\\n/v3/m\\nlimit=2\\nlocale="
                             "de-DE\\n\", \"variants\": {\"locale\": \"de-DE\"}"));
    EXPECT_THAT(r, HasSubstr("{\"step\": \"Recv\", \"ms\": 0.000}, {\"step\": \"Route\""));
    EXPECT_THAT(r, HasSubstr("{\"step\": \"Lookup\""));
    EXPECT_THAT(r, HasSubstr("{\"step\": \"Fetch\""));
    EXPECT_THAT(r, HasSubstr("{\"step\": \"Done\""));
    EXPECT_THAT(r, HasSubstr("\"cache\": \"miss\", \"cache_status\": \"lacquer; fwd=uri-miss; "
                             "stored\", \"origin\": \"" +
                             origin_.address() + "\", \"origin_ms\": "));
    EXPECT_THAT(r, Not(HasSubstr("\"origin_ms\": null")));
    EXPECT_THAT(r, Not(HasSubstr("\"first_byte_ms\": null")));
    EXPECT_THAT(r, HasSubstr("\"status\": 200, \"bytes\": " +
                             std::to_string(std::string("body of /v3/m?limit=2").size())));
}

TEST_F(ObserveLog, AStalledReaderLosesRecordsAndIsToldHowManyWithoutSlowingTheProxy) {
    // A reader with a tiny receive window that reads nothing for a while.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    const int small = 4096;
    ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(proxy_->admin_port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    const std::string request =
        "GET /log HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + std::string(kToken) + "\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    wait_watchers(1);
    // Hits with long URLs on one connection (one worker): big records, quickly.
    const std::string target = "/v3/" + std::string(900, 'x') + "?limit=3";
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy_->port()));
    const auto started = std::chrono::steady_clock::now();
    constexpr int kRequests = 3000;
    for (int i = 0; i < kRequests; ++i) {
        ASSERT_EQ(client.get(target, kApi).status, 200) << i;
    }
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, 10s); // never blocked by the reader
    ASSERT_TRUE(
        expect_metric(proxy_->admin_port(), "lacquer_transaction_log_dropped_total", 1, 5s, ""));
    // The reader comes back: every request is either a record it gets or counted in a notice
    // ("# dropped N"; each pump writes whole lines, so a chunk never splits one).
    // Counted line by line as whole lines arrive: rescanning all that came (megabytes, a few
    // KiB per read through the small window) was quadratic and, under TSan, ran out the wait.
    std::string got;
    std::size_t counted = 0; // got[0, counted) is whole lines already counted
    std::size_t records = 0;
    long dropped = 0;
    const auto count = [&] {
        const std::size_t end = got.rfind('\n');
        if (end == std::string::npos || end + 1 <= counted) {
            return;
        }
        const std::string_view fresh(got.data() + counted, end + 1 - counted);
        for (std::size_t at = 0; (at = fresh.find(" route=listings ", at)) != fresh.npos; ++at) {
            ++records;
        }
        for (std::size_t at = 0; (at = fresh.find("# dropped ", at)) != fresh.npos; ++at) {
            dropped += std::strtol(fresh.data() + at + 10, nullptr, 10);
        }
        counted = end + 1;
    };
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (records + static_cast<std::size_t>(dropped) < kRequests &&
           std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char buf[65536];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            got.append(buf, static_cast<std::size_t>(n));
            count();
        }
    }
    ::close(fd);
    EXPECT_EQ(records + static_cast<std::size_t>(dropped), static_cast<std::size_t>(kRequests));
    EXPECT_GT(records, 0u);
    // The ring's drops are in the metric; the rest were dropped by the stalled connection's
    // watcher (its own bound), and both kinds are in the notices.
    const std::optional<double> ring_drops =
        scrape_metric(proxy_->admin_port(), "lacquer_transaction_log_dropped_total");
    ASSERT_TRUE(ring_drops.has_value());
    EXPECT_GE(*ring_drops, 1.0);
    EXPECT_LE(*ring_drops, static_cast<double>(dropped));
}

TEST_F(ObserveLog, DebugObjectShowsEveryLocaleVariantWithItsFields) {
    for (const char* lang : {"en-US", "de-DE", "fr-FR"}) {
        ASSERT_EQ(proxy_->get("/v3/item?limit=5", {{"Host", "api.test"}, {"X-Lang", lang}})
                      .header("Cache-Status"),
                  kStored)
            << lang;
    }
    ASSERT_EQ(proxy_->get("/v3/item?limit=5", {{"Host", "api.test"}, {"X-Lang", "de-DE"}})
                  .header("Cache-Status"),
              kHit);
    const Response r =
        admin_get("/debug/object?url=%2Fv3%2Fitem%3Flimit%3D5%26utm%3Dz&host=api.test");
    ASSERT_EQ(r.status, 200) << r.summary();
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_THAT(r.body, HasSubstr("\"route\": \"listings\", \"key\": "
                                  "\"G\\napi.test\\n/v3/item\\nlimit=5\\n\", \"fetching\": []"));
    std::size_t objects = 0;
    for (const char* lang : {"en-US", "de-DE", "fr-FR"}) {
        const std::string variant = "\"variants\": {\"locale\": \"" + std::string(lang) + "\"}";
        const std::size_t at = r.body.find(variant);
        ASSERT_NE(at, std::string::npos) << lang << "\n" << r.body;
        const std::string object =
            r.body.substr(at, r.body.find('}', r.body.find("\"hits\"", at)) - at);
        objects += 1;
        EXPECT_THAT(object, HasSubstr("\"status\": 200, \"state\": \"fresh\""));
        EXPECT_THAT(object, HasSubstr("\"ttl_s\": 600.000"));
        EXPECT_THAT(object, HasSubstr("\"stale_s\": 30.000, \"stale_if_error_s\": 90.000, "
                                      "\"hard_bound_s\": 690.000"));
        EXPECT_THAT(object,
                    HasSubstr("\"body_bytes\": " +
                              std::to_string(std::string("body of /v3/item?limit=5").size())));
        EXPECT_THAT(object, HasSubstr("\"tags\": [\"listing\", \"" + std::string(lang) + "\"]"));
        EXPECT_THAT(object, HasSubstr("\"etag\": \"\\\"v-" + std::string(lang) + "\\\"\""));
        EXPECT_THAT(object, HasSubstr("\"last_modified\": \"Tue, 01 Dec 2026 10:00:00 GMT\""));
        EXPECT_THAT(object, HasSubstr(std::string("\"hits\": ") +
                                      (std::string(lang) == "de-DE" ? "1" : "0")));
    }
    EXPECT_EQ(objects, 3u);
    EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '{') - 1 - 3,
              3); // 3 objects + their variants

    // The token is required, and a URL no cache route takes says which route it took.
    EXPECT_EQ(admin_get("/debug/object?url=%2Fv3%2Fitem&host=api.test", false).status, 401);
    const Response pass = admin_get("/debug/object?url=%2Fp%2Fx&host=api.test");
    EXPECT_EQ(pass.status, 404);
    EXPECT_THAT(pass.body, HasSubstr("route 'direct' does not cache this URL"));
    EXPECT_EQ(admin_get("/debug/object?host=api.test").status, 400);
    EXPECT_EQ(admin_get("/log?status=7xx").status, 400);
    EXPECT_EQ(admin_get("/log", false).status, 401);
}

TEST_F(ObserveLog, DebugObjectShowsAFetchInFlight) {
    Gate release;
    origin_.on_get("/v3/held", [&release](OriginExchange& x) {
        EXPECT_TRUE(release.wait_for(5s));
        x.respond(200, {{"Cache-Control", "max-age=600"}}, "held");
    });
    ConcurrentGets held(proxy_->port(), "/v3/held", 1, kApi);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    Response r;
    do {
        r = admin_get("/debug/object?url=%2Fv3%2Fheld&host=api.test&format=text");
    } while (r.body.find("fetch in flight: yes") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_THAT(r.body, HasSubstr("route listings\nkey G | api.test | /v3/held | \n"
                                  "fetch in flight: yes\n0 stored variants\n"));
    release.open();
    for (const Response& done : held.collect(5s)) {
        EXPECT_EQ(done.status, 200);
    }
    r = admin_get("/debug/object?url=%2Fv3%2Fheld&host=api.test&format=text");
    EXPECT_THAT(r.body, HasSubstr("fetch in flight: no\n1 stored variant\nvariant locale=en-US\n"
                                  "  status 200, fresh, age "));
}

TEST_F(ObserveLog, TheAdminTokenOnTheClientPortIsAnOrdinaryRequest) {
    const HeaderFields with_token{{"Host", "api.test"},
                                  {"Authorization", "Bearer " + std::string(kToken)}};
    // A cache route does not store an answer to a request with Authorization (RFC 9111 §3.5)
    // unless the origin says public: it is forwarded as a pass, and the token is not.
    const Response r = proxy_->get("/p/t", with_token);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "body of /p/t");
    EXPECT_THAT(r.header("Cache-Status"), Not(HasSubstr("key=")));
    const Response c = proxy_->get("/v3/t", with_token);
    EXPECT_EQ(c.status, 200);
    EXPECT_THAT(c.header("Cache-Status"), Not(HasSubstr("key=")));
    for (const ReceivedRequest& request : origin_.requests()) {
        EXPECT_EQ(request.header("Authorization"), "") << request.target;
    }
}

} // namespace
} // namespace lacquer::test
