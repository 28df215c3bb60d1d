// RouteTable: path_regex routes are RE2 patterns, compiled with the routes; a pattern RE2 cannot
// run is a config error at the FILE:LINE:COL of the value, as the loader reports its own.
#include "lacquer/config/load.h"
#include "lacquer/proxy/route_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::proxy {
namespace {

using ::testing::HasSubstr;

// Route lines start at 8, the path_regex value at line 10, column 19.
std::string with_regex(std::string_view regex) {
    return "listen:\n  - address: 127.0.0.1:8080\norigins:\n  api:\n    servers:\n"
           "      - address: 127.0.0.1:9000\nroutes:\n  - name: rx\n    match:\n"
           "      path_regex: '" +
           std::string(regex) + "'\n    pass: true\n";
}

std::string compile_error(std::string_view regex) {
    const config::Config config = config::load_config_string(with_regex(regex), "t.yaml");
    try {
        const RouteTable routes(config);
    } catch (const config::ConfigError& error) {
        EXPECT_EQ(std::string(error.what()), error.mark().text() + ": " + error.message());
        return error.what();
    }
    ADD_FAILURE() << regex << " compiled";
    return {};
}

TEST(RouteTable, PathRegexRoutesMatchWithRe2) {
    const config::Config config =
        config::load_config_string(with_regex(R"(^/rx/(\w+/?)*$)"), "t.yaml");
    const RouteTable routes(config);
    EXPECT_EQ(routes.match("h", "/rx/aa/bb/", "GET").name, "rx");
    EXPECT_EQ(routes.match("h", "/rx/" + std::string(30, 'a') + "!", "GET").name, "default");
    EXPECT_EQ(routes.match("h", "/other", "GET").name, "default");
}

TEST(RouteTable, UnsupportedRegexSyntaxIsAConfigErrorAtTheValue) {
    EXPECT_THAT(compile_error("^/a(?=b)"),
                HasSubstr("t.yaml:10:19: routes[0].match.path_regex: the regex does not compile: "
                          "lookaround (?= is not supported"));
    EXPECT_THAT(compile_error("(?<=a)b"), HasSubstr("t.yaml:10:19: routes[0].match.path_regex: "
                                                    "the regex does not compile: lookaround (?<"));
    EXPECT_THAT(compile_error(R"(^/(a)\1$)"),
                HasSubstr(R"(t.yaml:10:19: routes[0].match.path_regex: the regex does not )"
                          R"(compile: backreference \1 is not supported)"));
    EXPECT_EQ(compile_error("^/a("), "t.yaml:10:19: routes[0].match.path_regex: the regex does "
                                     "not compile: missing ): ^/a( (RE2 syntax)");
}

} // namespace
} // namespace lacquer::proxy
