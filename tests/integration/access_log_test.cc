// The access log end to end: one line per request with the cache status, route and timings, in
// JSON or combined format, written to a file that SIGUSR1 reopens (logrotate's way).
#include "cache_test_support.h"
#include "support/child_process.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <csignal>
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
    for (int i = 0; i < 100; ++i) {
        lines = lines_of(file);
        if (lines.size() >= n) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    return lines;
}

TestConfig config_with_log(const ScriptedOrigin& origin, const std::filesystem::path& file,
                           std::string_view format) {
    // TestConfig writes `log: { access: X }`: the format rides along in the same flow map.
    return caching_config(origin, kCachedPassedRejected)
        .access_log(file.string() + ", format: " + std::string(format));
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
                                    "\\udced\\udca0\\udc80 \\udce2\\udc98 \\u0022q\""));
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
    bool reopened = false;
    for (int i = 0; i < 100 && !reopened; ++i) { // bounded: the reopen is asynchronous
        ASSERT_EQ(proxy.get("/c/after").status, 200);
        reopened = std::filesystem::exists(file) && !lines_of(file).empty();
        if (!reopened) {
            std::this_thread::sleep_for(50ms);
        }
    }
    ASSERT_TRUE(reopened) << "no new file after SIGUSR1";
    EXPECT_THAT(lines_of(file).back(), HasSubstr("GET /c/after"));
    EXPECT_THAT(lines_of(rotated).front(), HasSubstr("GET /c/first"));
}

} // namespace
} // namespace lacquer::test
