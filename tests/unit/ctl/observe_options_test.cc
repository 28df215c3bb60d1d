// lacquerctl log, top and inspect: their options and refusals, the /log query they build, and
// the reading of lacquerd's JSON lines that top relies on.
#include "ctl/command_line.h"
#include "ctl/observe_commands.h"

#include <gtest/gtest.h>

namespace lacquer::ctl {
namespace {

using namespace std::chrono_literals;

Invocation parse_ok(std::vector<std::string_view> args) {
    ParsedCommandLine parsed = parse_command_line(args);
    EXPECT_TRUE(parsed.invocation.has_value()) << parsed.error;
    return parsed.invocation.value_or(Invocation{});
}

std::string refusal(std::vector<std::string_view> args) {
    ParsedCommandLine parsed = parse_command_line(args);
    EXPECT_FALSE(parsed.invocation.has_value());
    return parsed.error;
}

TEST(CtlObserveOptions, LogFiltersBecomeTheQueryLacquerdReads) {
    const Invocation log =
        parse_ok({"log", "--url", "^/v3/a b", "--route=listings", "--status", "5xx",
                  "--cache-status", "miss", "--host", "api.test", "--client", "10.0.0.0/8",
                  "--slower", "250", "--count", "3", "--json"});
    EXPECT_EQ(log.command, Command::Log);
    EXPECT_EQ(log.watch.count, 3u);
    EXPECT_EQ(log_target(log, log.json, log.watch.count),
              "/log?format=json&url=%5E/v3/a%20b&route=listings&status=5xx&cache=miss"
              "&host=api.test&client=10.0.0.0/8&slower=250&count=3");
    EXPECT_EQ(log_target(parse_ok({"log"}), false, 0), "/log?format=text");
}

TEST(CtlObserveOptions, TopAndInspect) {
    const Invocation top = parse_ok({"top", "--by", "origin-time", "--window", "30s", "--once"});
    EXPECT_EQ(top.command, Command::Top);
    EXPECT_EQ(top.watch.by, "origin-time");
    EXPECT_EQ(top.watch.window, 30s);
    EXPECT_TRUE(top.watch.once);
    EXPECT_EQ(parse_ok({"top"}).watch.window, 10s);
    const Invocation inspect = parse_ok({"inspect", "http://api.test:8080/v3/x?y=1"});
    EXPECT_EQ(inspect.command, Command::Inspect);
    EXPECT_EQ(inspect.argument, "/v3/x?y=1");
    EXPECT_EQ(inspect.host, "api.test:8080");
    EXPECT_EQ(parse_ok({"inspect", "/v3/x", "--host", "h"}).host, "h");
}

TEST(CtlObserveOptions, RefusesWhatCannotWork) {
    EXPECT_NE(refusal({"log", "extra"}), "");
    EXPECT_NE(refusal({"top", "--by", "colour"}), "");
    EXPECT_NE(refusal({"top", "--window", "soon"}), "");
    EXPECT_NE(refusal({"log", "--count", "0"}), "");
    EXPECT_NE(refusal({"log", "--slower", "fast"}), "");
    EXPECT_NE(refusal({"log", "--once"}), "");
    EXPECT_NE(refusal({"log", "--all"}), "");
    EXPECT_NE(refusal({"inspect"}), "");
    EXPECT_NE(refusal({"inspect", "v3/x"}), "");
}

TEST(CtlObserveOptions, JsonLineFieldsAsLacquerdWritesThem) {
    const std::string line = R"({"time": "x", "host": "a\"b", "url": "/p?q=\"url\": \"evil\"", )"
                             R"("origin_ms": 12.500, "first_byte_ms": null, "bytes": 42})";
    EXPECT_EQ(json_line_field(line, "host"), "a\"b");
    EXPECT_EQ(json_line_field(line, "url"), "/p?q=\"url\": \"evil\"");
    EXPECT_EQ(json_line_field(line, "origin_ms"), "12.500");
    EXPECT_EQ(json_line_field(line, "first_byte_ms"), "null");
    EXPECT_EQ(json_line_field(line, "bytes"), "42");
    EXPECT_EQ(json_line_field(line, "route"), std::nullopt);
    EXPECT_EQ(json_line_field(R"({"url": "/unterminated)", "url"), std::nullopt);
    EXPECT_EQ(json_line_field(R"({"url": "\u00e9"})", "url"), "\xe9");
}

} // namespace
} // namespace lacquer::ctl
