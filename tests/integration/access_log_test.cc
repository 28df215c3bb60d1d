// The access log end to end: one line per request with the cache status, route and timings, in
// JSON, combined or custom format, written to a file that SIGUSR1 reopens (logrotate's way);
// the named fields through real requests; the request id and trace context the origin sees;
// and exactly one line for requests that end badly (client abort mid-body, a client gone while
// it waits on another's fetch, a head cut by the client or by shutdown, the drain timeout).
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/deadline.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::vector<std::string> lines_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// Waits (bounded) until `file` has at least `n` lines: the log is written by its own thread.
std::vector<std::string> wait_for_lines(const std::filesystem::path& file, std::size_t n) {
    std::vector<std::string> lines;
    (void)eventually(5s, [&] {
        lines = lines_of(file);
        return lines.size() >= n;
    });
    return lines;
}

TestConfig config_with_log(const ScriptedOrigin& origin, const std::filesystem::path& file,
                           std::string_view format) {
    // TestConfig writes `log: { access: X }`: the format rides along in the same flow map.
    return caching_config(origin, kCachedPassedRejected)
        .access_log(file.string() + ", format: " + std::string(format));
}

// The value of `key` in a JSON line as written: a string's contents (escapes left as they are),
// or the bare token (number, null). "<absent>" when the key is not there.
std::string json_value(const std::string& line, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    const std::size_t at = line.find(needle);
    if (at == std::string::npos) {
        return "<absent>";
    }
    std::size_t i = at + needle.size();
    if (i < line.size() && line[i] == '"') {
        std::string value;
        for (++i; i < line.size() && line[i] != '"'; ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                value.push_back(line[i++]);
            }
            value.push_back(line[i]);
        }
        return value;
    }
    const std::size_t end = line.find_first_of(",}", i);
    return line.substr(i, end - i);
}

// The lines whose `key` is `value`.
std::vector<std::string> lines_where(const std::vector<std::string>& lines, std::string_view key,
                                     std::string_view value) {
    std::vector<std::string> found;
    for (const std::string& line : lines) {
        if (json_value(line, key) == value) {
            found.push_back(line);
        }
    }
    return found;
}

bool is_hex(const std::string& s, std::size_t length) {
    return s.size() == length && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(AccessLog, OneJsonLinePerRequestWithItsCacheStatus) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "ok");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "json"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/c/a").header("Cache-Status"), kStored);
    ASSERT_EQ(proxy.get("/c/a").header("Cache-Status"), kHit);
    ASSERT_EQ(proxy.get("/p/b").header("Cache-Status"), kBypass);
    ASSERT_EQ(proxy.get("/elsewhere").status, 404);

    const std::vector<std::string> lines = wait_for_lines(file, 4);
    ASSERT_EQ(lines.size(), 4u);
    const char* expected[][3] = {{"miss", "cached", "/c/a"},
                                 {"hit", "cached", "/c/a"},
                                 {"pass", "passed", "/p/b"},
                                 {"synth", "default", "/elsewhere"}};
    // Workers write in their own order: match each expectation to some line.
    for (const auto& e : expected) {
        const std::string cache = std::string("\"cache\":\"") + e[0] + "\"";
        const std::string route = std::string("\"route\":\"") + e[1] + "\"";
        const std::string target = std::string("\"target\":\"") + e[2] + "\"";
        bool found = false;
        for (const std::string& line : lines) {
            found = found || (line.find(cache) != std::string::npos &&
                              line.find(route) != std::string::npos &&
                              line.find(target) != std::string::npos);
        }
        EXPECT_TRUE(found) << "no line with " << cache << " " << route << " " << target;
    }
    for (const std::string& line : lines) {
        EXPECT_EQ(line.front(), '{');
        EXPECT_EQ(line.back(), '}');
        EXPECT_THAT(line, HasSubstr("\"total_ms\":"));
    }
    // Each line says the request's way through the request state machine (issue 16).
    const auto steps_of = [&lines](std::string_view cache) {
        for (const std::string& line : lines) {
            if (line.find("\"cache\":\"" + std::string(cache) + "\"") != std::string::npos) {
                const std::size_t at = line.find("\"steps\":\"");
                return at == std::string::npos
                           ? std::string()
                           : line.substr(at + 9, line.find('"', at + 9) - at - 9);
            }
        }
        return std::string();
    };
    EXPECT_THAT(steps_of("hit"), MatchesRegex("Recv:0.000 Route:[0-9.]+ Lookup:[0-9.]+ "
                                              "Deliver:[0-9.]+ Done:[0-9.]+"));
    EXPECT_THAT(steps_of("miss"), MatchesRegex("Recv:0.000 Route:[0-9.]+ Lookup:[0-9.]+ "
                                               "Fetch:[0-9.]+ Relay:[0-9.]+ Relay:[0-9.]+ "
                                               "Relay:[0-9.]+ Done:[0-9.]+"));
    EXPECT_THAT(steps_of("synth"), MatchesRegex("Recv:0.000 Route:[0-9.]+ Synth:[0-9.]+ "
                                                "Done:[0-9.]+"));
}

// Issue 20 item 6: UTF-8 in a JSON line is written as it is, so a JSON parser reads back the
// same characters (it was \u00c3\u00bc for "ü", two Latin-1 characters); a byte that is no
// part of well-formed UTF-8 becomes \udcXX (read back as that byte by surrogateescape); control
// bytes and quotes stay escaped, so a line can never be split or forged.
TEST(AccessLog, JsonKeepsUtf8CharactersAndMarksBytesThatAreNotUtf8) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {{"Cache-Control", "no-store"}}, "ok"); });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "json"));
    ASSERT_TRUE(proxy.started());
    // "Müller-Bot ☃ 😀", then a lone continuation byte, an overlong '/', an encoded surrogate,
    // a truncated sequence, and a quote.
    const std::string agent = "M\xc3\xbcller-Bot \xe2\x98\x83 \xf0\x9f\x98\x80 \x80 \xc0\xaf "
                              "\xed\xa0\x80 \xe2\x98 \"q";
    ASSERT_EQ(proxy.get("/c/utf8", {{"User-Agent", agent}}).status, 200);
    const std::vector<std::string> lines = wait_for_lines(file, 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_THAT(lines[0], HasSubstr("\"user_agent\":\"M\xc3\xbcller-Bot \xe2\x98\x83 "
                                    "\xf0\x9f\x98\x80 \\udc80 \\udcc0\\udcaf "
                                    "\\udced\\udca0\\udc80 \\udce2\\udc98 \\\"q\""));
}

TEST(AccessLog, CombinedFormatAndReopenOnSigusr1) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "ok");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "combined"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/c/first").status, 200);
    const std::vector<std::string> before = wait_for_lines(file, 1);
    ASSERT_EQ(before.size(), 1u);
    EXPECT_THAT(before[0], HasSubstr("\"GET /c/first HTTP/1.1\" 200 2"));
    EXPECT_THAT(before[0], HasSubstr("cache=miss route=cached"));

    // logrotate: move the file away, then ask for a reopen.
    const auto rotated = dir.path() / "access.log.1";
    std::filesystem::rename(file, rotated);
    ASSERT_TRUE(proxy.send_signal(SIGUSR1));
    int status = 200; // the reopen is asynchronous: asks until a line lands in the new file
    const bool reopened = eventually(5s, [&] {
        status = proxy.get("/c/after").status;
        return status != 200 || (std::filesystem::exists(file) && !lines_of(file).empty());
    });
    ASSERT_EQ(status, 200);
    ASSERT_TRUE(reopened) << "no new file after SIGUSR1";
    EXPECT_THAT(lines_of(file).back(), HasSubstr("GET /c/after"));
    EXPECT_THAT(lines_of(rotated).front(), HasSubstr("GET /c/first"));
}

} // namespace
} // namespace lacquer::test

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr std::string_view kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Each named field through real requests: a miss, a hit and a pass, with the client's request
// id or a new one, as the origin received them.
TEST(AccessLogFields, EachFieldSaysWhatTheRequestDid) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "hello");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(
        origin, file,
        "json, fields: [time_iso8601, time, client, method, url, status, bytes, request_bytes, "
        "host, route, cache_status, upstream_addr, request_id, traceparent, origin_ms, total_ms, "
        "total_us, tls_version, term]"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/c/f", {{"Host", "api.test"}, {"X-Request-Id", "client-id-1"}}).status,
              200);
    ASSERT_EQ(proxy.get("/c/f", {{"Host", "api.test"}}).status, 200);
    ASSERT_EQ(
        proxy.get("/p/f", {{"Host", "api.test"}, {"traceparent", std::string(kTrace)}}).status,
        200);
    const std::vector<std::string> lines = wait_for_lines(file, 3);
    ASSERT_EQ(lines.size(), 3u);

    const std::vector<std::string> miss = lines_where(lines, "cache_status", "miss");
    const std::vector<std::string> hit = lines_where(lines, "cache_status", "hit");
    const std::vector<std::string> pass = lines_where(lines, "cache_status", "pass");
    ASSERT_EQ(miss.size(), 1u);
    ASSERT_EQ(hit.size(), 1u);
    ASSERT_EQ(pass.size(), 1u);
    for (const std::string& line : lines) {
        EXPECT_THAT(json_value(line, "time_iso8601"),
                    MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6]"
                                 "[0-9][.][0-9][0-9][0-9]Z"));
        EXPECT_THAT(json_value(line, "time"), MatchesRegex("[0-9]{10}"));
        EXPECT_EQ(json_value(line, "client"), "127.0.0.1");
        EXPECT_EQ(json_value(line, "method"), "GET");
        EXPECT_EQ(json_value(line, "status"), "200");
        EXPECT_EQ(json_value(line, "bytes"), "5");
        EXPECT_EQ(json_value(line, "host"), "api.test");
        EXPECT_EQ(json_value(line, "tls_version"), "null");
        EXPECT_EQ(json_value(line, "term"), "ok");
        EXPECT_THAT(json_value(line, "total_ms"), MatchesRegex("[0-9]+[.][0-9]{3}"));
        EXPECT_THAT(json_value(line, "total_us"), MatchesRegex("[0-9]+"));
        // The head as sent: request line, Host, the test client's own lines.
        EXPECT_GE(std::stoul(json_value(line, "request_bytes")), 30u) << line;
    }
    EXPECT_EQ(json_value(miss[0], "url"), "/c/f");
    EXPECT_EQ(json_value(miss[0], "route"), "cached");
    EXPECT_EQ(json_value(miss[0], "request_id"), "client-id-1");
    EXPECT_EQ(json_value(miss[0], "upstream_addr"), origin.address());
    EXPECT_THAT(json_value(miss[0], "origin_ms"), MatchesRegex("[0-9]+[.][0-9]{3}"));
    EXPECT_EQ(json_value(miss[0], "traceparent"), "null"); // pass mode: none was sent
    EXPECT_EQ(json_value(hit[0], "upstream_addr"), "null");
    EXPECT_EQ(json_value(hit[0], "origin_ms"), "null");
    EXPECT_TRUE(is_hex(json_value(hit[0], "request_id"), 32)) << hit[0];
    EXPECT_EQ(json_value(pass[0], "route"), "passed");
    EXPECT_EQ(json_value(pass[0], "upstream_addr"), origin.address());
    EXPECT_EQ(json_value(pass[0], "traceparent"), kTrace);
    const std::string pass_id = json_value(pass[0], "request_id");
    EXPECT_TRUE(is_hex(pass_id, 32)) << pass[0];
    EXPECT_NE(pass_id, json_value(hit[0], "request_id"));

    // The origin saw the ids the log names, and the trace unchanged.
    const std::vector<ReceivedRequest> seen = origin.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].header("X-Request-Id"), "client-id-1");
    EXPECT_EQ(seen[1].header("X-Request-Id"), pass_id);
    EXPECT_EQ(seen[1].header("traceparent"), kTrace);
}

TEST(AccessLogFields, CustomTextLinesAreTheFieldsInOrder) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {{"Cache-Control", "no-store"}}, "ok"); });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(
        origin, file,
        "custom, fields: [time_local, request, status, bytes, cache, route, request_id, term, "
        "user_agent]"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/p/text", {{"X-Request-Id", "r-1"}, {"User-Agent", "a \"b\""}}).status,
              200);
    const std::vector<std::string> lines = wait_for_lines(file, 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_THAT(lines[0], MatchesRegex("\\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \\+0000\\] "
                                       "\"GET /p/text HTTP/1.1\" 200 2 pass passed r-1 ok "
                                       "\"a \\\\x22b\\\\x22\""));
}

// An X-Request-Id that is too long or carries unsafe bytes is replaced before the origin or
// the log sees it; with log.traceparent: start, a request without one starts a trace that
// the origin receives and the log names.
TEST(AccessLogFields, InvalidRequestIdIsReplacedAndAStartedTraceReachesTheOrigin) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {{"Cache-Control", "no-store"}}, "ok"); });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(
        origin, file, "json, traceparent: start, fields: [url, request_id, traceparent]"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/p/long", {{"X-Request-Id", std::string(200, 'a')}}).status, 200);
    ASSERT_EQ(
        proxy.get("/p/bad", {{"X-Request-Id", "x\"y;z"}, {"traceparent", "00-zz-not-a-trace"}})
            .status,
        200);
    ASSERT_EQ(proxy.get("/p/kept", {{"traceparent", std::string(kTrace)}}).status, 200);
    const std::vector<std::string> lines = wait_for_lines(file, 3);
    ASSERT_EQ(lines.size(), 3u);
    for (const ReceivedRequest& r : origin.requests()) {
        const std::vector<std::string> line = lines_where(lines, "url", r.target);
        ASSERT_EQ(line.size(), 1u) << r.target;
        EXPECT_TRUE(is_hex(r.header("X-Request-Id"), 32)) << r.header("X-Request-Id");
        EXPECT_EQ(json_value(line[0], "request_id"), r.header("X-Request-Id"));
        EXPECT_EQ(json_value(line[0], "traceparent"), r.header("traceparent"));
        EXPECT_THAT(r.header("traceparent"),
                    MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"));
        std::size_t ids = 0;
        for (const auto& [name, value] : r.headers) {
            ids += name == "X-Request-Id" || name == "x-request-id" ? 1 : 0;
        }
        EXPECT_EQ(ids, 1u) << "the client's id is replaced, not added to";
    }
    EXPECT_EQ(lines_where(lines, "url", "/p/kept").size(), 1u);
    EXPECT_EQ(json_value(lines_where(lines, "url", "/p/kept")[0], "traceparent"), kTrace);
}

// The leader's X-Request-Id goes to the origin; an origin that echoes it never has it stored,
// so a hit never answers with another client's id.
TEST(AccessLogFields, AnOriginsEchoOfTheRequestIdIsNeverStored) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) {
        x.respond(
            200,
            {{"Cache-Control", "max-age=60"}, {"X-Request-Id", x.request().header("X-Request-Id")}},
            "shared");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "json"));
    ASSERT_TRUE(proxy.started());
    const Response first = proxy.get("/c/echo", {{"X-Request-Id", "leader-1"}});
    ASSERT_EQ(first.header("Cache-Status"), kStored);
    const Response second = proxy.get("/c/echo", {{"X-Request-Id", "follower-2"}});
    ASSERT_EQ(second.header("Cache-Status"), kHit);
    EXPECT_FALSE(second.has_header("X-Request-Id")) << "the leader's id was replayed";
    EXPECT_FALSE(first.has_header("X-Request-Id"));
    ASSERT_EQ(origin.requests().size(), 1u);
    EXPECT_EQ(origin.requests()[0].header("X-Request-Id"), "leader-1");
    const std::vector<std::string> lines = wait_for_lines(file, 2);
    EXPECT_EQ(lines_where(lines, "request_id", "leader-1").size(), 1u);
    EXPECT_EQ(lines_where(lines, "request_id", "follower-2").size(), 1u);
}

// Non-ASCII input parses back to the same characters with a real JSON parser (python3).
TEST(AccessLogFields, JsonWithNonAsciiParsesBackToTheSameCharacters) {
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {{"Cache-Control", "no-store"}}, "ok"); });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "json"));
    ASSERT_TRUE(proxy.started());
    const std::string agent = "M\xc3\xbcller-Bot \xe2\x98\x83 \xf0\x9f\x98\x80 "
                              "\xe6\x97\xa5\xe6\x9c\xac \"q\" \\ \tend";
    const std::string referer = "https://\xe4\xbe\x8b\xe3\x81\x88.jp/caf\xc3\xa9?q=\xce\xbb";
    ASSERT_EQ(proxy.get("/p/utf8", {{"User-Agent", agent}, {"Referer", referer}}).status, 200);
    ASSERT_EQ(wait_for_lines(file, 1).size(), 1u);
    const std::string script = "import json,sys\n"
                               "for l in open(sys.argv[1], encoding='utf-8'):\n"
                               "    d = json.loads(l)\n"
                               "    sys.stdout.buffer.write((d['user_agent'] + '\\n' + "
                               "d['referer'] + '\\n').encode('utf-8'))\n";
    const auto script_file = dir.path() / "parse.py";
    std::ofstream(script_file) << script;
    const std::string command = "python3 " + script_file.string() + " " + file.string();
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[512];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) {
        out.append(buf, n);
    }
    ASSERT_EQ(::pclose(pipe), 0) << out;
    EXPECT_EQ(out, agent + "\n" + referer + "\n");
}

// A client that leaves while the answer's body is on its way: one line, the status it got,
// term=client_abort, the bytes sent so far.
TEST(AccessLogEndings, ClientAbortMidBodyIsLoggedOnce) {
    ScriptedOrigin origin;
    Gate rest;
    origin.on_any([&](OriginExchange& x) {
        x.send_head(200, {{"Cache-Control", "no-store"}, {"Content-Length", "10"}});
        x.send_body_chunk("hello");
        (void)rest.wait_for(10s); // the rest never comes while the client is there
        x.close();
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(config_with_log(origin, file, "json, fields: [url, status, bytes, term]"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(build_request("GET", "/p/abort")));
    ASSERT_TRUE(client.received_contains("hello", 5s));
    client.reset();
    const std::vector<std::string> lines = wait_for_lines(file, 1);
    rest.open();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(json_value(lines[0], "url"), "/p/abort");
    EXPECT_EQ(json_value(lines[0], "status"), "200");
    EXPECT_EQ(json_value(lines[0], "bytes"), "5");
    EXPECT_EQ(json_value(lines[0], "term"), "client_abort");
    std::this_thread::sleep_for(200ms); // nothing more comes for it (a second line would)
    EXPECT_EQ(lines_of(file).size(), 1u);
}

// A client that goes while it waits on another request's fetch of the same key: its line
// says 499 client_abort, once; the leader's line follows when the origin answers.
TEST(AccessLogEndings, ClientGoneWhileWaitingOnACoalescedFetchIsLoggedOnce) {
    ScriptedOrigin origin;
    Gate answer;
    origin.on_any([&](OriginExchange& x) {
        (void)answer.wait_for(10s);
        x.respond(200, {{"Cache-Control", "max-age=60"}}, "late");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(
        caching_config(origin, kCachedPassedRejected)
            .workers(1)
            .admin()
            .access_log(file.string() + ", format: json, fields: [url, status, cache, term]"));
    ASSERT_TRUE(proxy.started());
    ConcurrentGets leader(proxy.port(), "/c/wait", 1, kApiHost, 10s);
    ASSERT_TRUE(origin.wait_for_count("/c/wait", 1, 5s));
    HttpClient waiter;
    ASSERT_TRUE(waiter.connect(proxy.port()));
    ASSERT_TRUE(waiter.send_raw(build_request("GET", "/c/wait", kApiHost)));
    ASSERT_TRUE(proxy.wait_for_metric("lacquer_coalesced_waits_total", 1, 5s));
    waiter.reset();
    const std::vector<std::string> first = wait_for_lines(file, 1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(json_value(first[0], "status"), "499");
    EXPECT_EQ(json_value(first[0], "cache"), "coalesced");
    EXPECT_EQ(json_value(first[0], "term"), "client_abort");
    answer.open();
    for (const Response& r : leader.collect(5s)) {
        EXPECT_EQ(r.status, 200) << r.summary();
    }
    const std::vector<std::string> lines = wait_for_lines(file, 2);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines_where(lines, "term", "client_abort").size(), 1u);
    EXPECT_EQ(lines_where(lines, "term", "ok").size(), 1u);
    EXPECT_EQ(lines_where(lines, "cache", "miss").size(), 1u);
}

// The drain timeout cuts a request waiting on its origin and a head that never finished: one
// line each with term=shutdown, flushed before the process exits. A head the client abandons
// gets its own line (499 client_abort).
TEST(AccessLogEndings, ShutdownCutAndAbandonedHeadsAreLoggedOnce) {
    ScriptedOrigin origin;
    Gate late;
    origin.on_any([&](OriginExchange& x) {
        (void)late.wait_for(10s);
        x.respond(200, {{"Cache-Control", "no-store"}}, "too late");
    });
    TempDir dir;
    const auto file = dir.path() / "access.log";
    LacquerProcess proxy(
        caching_config(origin, kCachedPassedRejected)
            .workers(1)
            .access_log(file.string() + ", format: json, fields: [url, status, term]")
            .limit("drain_timeout", "300ms"));
    ASSERT_TRUE(proxy.started());
    HttpClient gone;
    ASSERT_TRUE(gone.connect(proxy.port()));
    ASSERT_TRUE(gone.send_raw("GET /p/half HTTP/1.1\r\nHost: a"));
    HttpClient half;
    ASSERT_TRUE(half.connect(proxy.port()));
    ASSERT_TRUE(half.send_raw("GET /p/never HTTP/1.1\r\nHost: a"));
    ConcurrentGets slow(proxy.port(), "/p/slow", 1, kApiHost, 10s);
    ASSERT_TRUE(origin.wait_for_count("/p/slow", 1, 5s));
    gone.close();
    ASSERT_EQ(wait_for_lines(file, 1).size(), 1u);
    ASSERT_TRUE(proxy.send_signal(SIGTERM));
    ASSERT_TRUE(proxy.wait_exit(10s).has_value());
    late.open();
    const std::vector<std::string> lines = lines_of(file);
    ASSERT_EQ(lines.size(), 3u);
    const std::vector<std::string> abandoned = lines_where(lines, "url", "/p/half");
    ASSERT_EQ(abandoned.size(), 1u);
    EXPECT_EQ(json_value(abandoned[0], "status"), "499");
    EXPECT_EQ(json_value(abandoned[0], "term"), "client_abort");
    const std::vector<std::string> cut = lines_where(lines, "url", "/p/slow");
    ASSERT_EQ(cut.size(), 1u);
    EXPECT_EQ(json_value(cut[0], "status"), "503");
    EXPECT_EQ(json_value(cut[0], "term"), "shutdown");
    const std::vector<std::string> never = lines_where(lines, "url", "/p/never");
    ASSERT_EQ(never.size(), 1u);
    EXPECT_EQ(json_value(never[0], "status"), "503");
    EXPECT_EQ(json_value(never[0], "term"), "shutdown");
}

} // namespace
} // namespace lacquer::test
