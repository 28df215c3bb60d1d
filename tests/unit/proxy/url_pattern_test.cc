// UrlPattern: RE2 semantics where a route or a ban meets request input. The pathological pairs
// that keep a backtracking engine busy for minutes are asserted for their answer only; the time
// they took is printed (perf figures are never asserted, STYLE.md §G).
#include "lacquer/proxy/url_pattern.h"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iostream>
#include <string>

namespace lacquer::proxy {
namespace {

using ::testing::HasSubstr;

UrlPattern compiled(std::string_view pattern) {
    std::string error;
    std::optional<UrlPattern> p = UrlPattern::compile(pattern, error);
    EXPECT_TRUE(p.has_value()) << pattern << ": " << error;
    if (!p) {
        return *UrlPattern::compile("$^", error);
    }
    return std::move(*p);
}

std::string refusal(std::string_view pattern) {
    std::string error;
    EXPECT_FALSE(UrlPattern::compile(pattern, error).has_value()) << pattern;
    return error;
}

TEST(UrlPattern, SearchesLikeRegexSearchAndAnchorsWhereAsked) {
    const UrlPattern listing = compiled("^/v3/listings/[0-9]+$");
    EXPECT_TRUE(listing.matches("/v3/listings/42"));
    EXPECT_FALSE(listing.matches("/v3/listings/42/photos"));
    EXPECT_FALSE(listing.matches("/x/v3/listings/42"));
    const UrlPattern anywhere = compiled("limit=1[0-9]");
    EXPECT_TRUE(anywhere.matches("/v3/listings?limit=10"));
    EXPECT_FALSE(anywhere.matches("/v3/listings?limit=1"));
    EXPECT_TRUE(compiled("(?i)^/API/").matches("/api/x")); // RE2 flags work
    EXPECT_EQ(listing.pattern(), "^/v3/listings/[0-9]+$");
}

TEST(UrlPattern, MatchesBytesNotUtf8) {
    // A path is bytes as the client sent them: '.' is one byte, even one that is not UTF-8.
    EXPECT_TRUE(compiled("^/a/.$").matches("/a/\xff"));
    EXPECT_TRUE(compiled("^/a/...$").matches("/a/%2F"));
}

TEST(UrlPattern, PathologicalPatternAndPathAnswerCorrectlyInLinearTime) {
    // ECMAScript backtracking tries every way to split the a's between \w+ and the group:
    // 2^30 for this 35-byte path, minutes of one worker (issue 15, item 5).
    const UrlPattern nested = compiled(R"(^/rx/(\w+/?)*$)");
    const std::string crafted = "/rx/" + std::string(30, 'a') + "!";
    ASSERT_GE(crafted.size(), 35u);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(nested.matches(crafted));
    EXPECT_TRUE(nested.matches("/rx/" + std::string(30, 'a')));
    EXPECT_TRUE(nested.matches("/rx/aa/bb/cc/"));
    // A long path through a nest of quantifiers: still one pass over the bytes.
    const std::string long_path = "/rx/" + std::string(8000, 'a') + "!";
    EXPECT_FALSE(nested.matches(long_path));
    EXPECT_FALSE(compiled("^(a|aa)+$").matches(std::string(5000, 'a') + "b"));
    EXPECT_FALSE(compiled("^(a+)+$").matches(std::string(5000, 'a') + "b"));
    const auto took =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start);
    std::cout << "[ perf     ] five pathological matches (35 B to 8 KiB) took " << took.count()
              << " us\n";
}

TEST(UrlPattern, WhatOnlyBacktrackingCanDoIsRefusedWithTheReason) {
    EXPECT_THAT(refusal("^/a(?=b)"), HasSubstr("lookaround (?= is not supported"));
    EXPECT_THAT(refusal("^/a(?!b)"), HasSubstr("lookaround (?! is not supported"));
    EXPECT_THAT(refusal("(?<=a)b"), HasSubstr("lookaround (?< is not supported"));
    EXPECT_THAT(refusal("(?<!a)b"), HasSubstr("lookaround (?< is not supported"));
    EXPECT_THAT(refusal(R"(^/(a)\1$)"), HasSubstr(R"(backreference \1 is not supported)"));
    EXPECT_THAT(refusal(R"((?P<x>a)\k<x>)"), HasSubstr(R"(backreference \k is not supported)"));
    EXPECT_THAT(refusal("^/a("), HasSubstr("missing ): ^/a( (RE2 syntax)"));
    EXPECT_THAT(refusal("a++"), HasSubstr("bad repetition operator: ++ (RE2 syntax)"));
}

TEST(UrlPattern, CompilingIsBoundedToo) {
    EXPECT_EQ(refusal(std::string(UrlPattern::kMaxBytes + 1, 'a')),
              "the regex is longer than 1024 bytes");
    compiled(std::string(UrlPattern::kMaxBytes, 'a'));
    // Small to write, large to compile: each byte of input would cost thousands of steps.
    std::string repeated;
    for (int i = 0; i < 5; ++i) {
        repeated += "[a-z]{1000}";
    }
    EXPECT_EQ(refusal(repeated),
              "the regex is too complex (it compiles to over 4096 instructions)");
    for (int i = 0; i < 85; ++i) {
        repeated += "[a-z]{1000}"; // past the memory bound: RE2 itself refuses it
    }
    EXPECT_EQ(refusal(repeated),
              "the regex is too complex (it compiles to over 4096 instructions)");
    compiled("[a-z]{1000}");
}

} // namespace
} // namespace lacquer::proxy
