// lacquerctl's command line: every command, options before and after it, and the refusals that
// make exit status 2.
#include "ctl/command_line.h"

#include <gtest/gtest.h>

namespace lacquer::ctl {
namespace {

using namespace std::chrono_literals;

ParsedCommandLine parse(std::vector<std::string_view> args) {
    return parse_command_line(args);
}

Invocation parse_ok(std::vector<std::string_view> args) {
    ParsedCommandLine parsed = parse(args);
    EXPECT_TRUE(parsed.invocation.has_value()) << parsed.error;
    return parsed.invocation.value_or(Invocation{});
}

TEST(CtlCommandLine, EveryCommandWithItsArgument) {
    EXPECT_EQ(parse_ok({"status"}).command, Command::Status);
    EXPECT_EQ(parse_ok({"stats"}).command, Command::Stats);
    const Invocation url = parse_ok({"purge", "/v3/listings?limit=5"});
    EXPECT_EQ(url.command, Command::PurgeUrl);
    EXPECT_EQ(url.argument, "/v3/listings?limit=5");
    EXPECT_EQ(url.host, "");
    const Invocation prefix = parse_ok({"purge", "--prefix", "/v3/"});
    EXPECT_EQ(prefix.command, Command::PurgePrefix);
    EXPECT_EQ(prefix.argument, "/v3/");
    const Invocation tag = parse_ok({"purge", "--tag=listing-42"});
    EXPECT_EQ(tag.command, Command::PurgeTag);
    EXPECT_EQ(tag.argument, "listing-42");
    EXPECT_EQ(parse_ok({"purge", "--all"}).command, Command::PurgeAll);
    EXPECT_FALSE(tag.soft);
    EXPECT_TRUE(parse_ok({"purge", "--soft", "--tag", "t"}).soft);
    EXPECT_TRUE(parse_ok({"purge", "/v3/x", "--soft"}).soft);
    const Invocation ban = parse_ok({"ban", "^/v3/listings/[0-9]+$"});
    EXPECT_EQ(ban.command, Command::Ban);
    EXPECT_EQ(ban.argument, "^/v3/listings/[0-9]+$");
    EXPECT_EQ(parse_ok({"routes"}).command, Command::Routes);
    EXPECT_TRUE(parse_ok({"routes", "--json"}).json);
}

TEST(CtlCommandLine, OptionsBeforeAndAfterTheCommand) {
    const Invocation inv = parse_ok({"--admin", "127.0.0.1:9191", "stats", "--json",
                                     "--token-file=/t", "--timeout", "250ms", "--config", "/c"});
    EXPECT_EQ(inv.admin, "127.0.0.1:9191");
    EXPECT_EQ(inv.token_file, "/t");
    EXPECT_TRUE(inv.json);
    EXPECT_EQ(inv.timeout, 250ms);
    EXPECT_EQ(inv.config_path, "/c");
    EXPECT_TRUE(inv.config_given);
    const Invocation defaults = parse_ok({"status"});
    EXPECT_EQ(defaults.timeout, kDefaultTimeout);
    EXPECT_EQ(defaults.config_path, kDefaultConfigPath);
    EXPECT_FALSE(defaults.config_given);
    EXPECT_EQ(parse_ok({"--timeout", "2", "status"}).timeout, 2s);
}

TEST(CtlCommandLine, AbsoluteUrlGivesTheHostUnlessHostIsWritten) {
    const Invocation inv = parse_ok({"purge", "http://api.test:8080/v3/x?a=1"});
    EXPECT_EQ(inv.host, "api.test:8080");
    EXPECT_EQ(inv.argument, "/v3/x?a=1");
    const Invocation bare = parse_ok({"purge", "https://api.test"});
    EXPECT_EQ(bare.argument, "/");
    const Invocation host = parse_ok({"purge", "--host", "other", "http://api.test/x"});
    EXPECT_EQ(host.host, "other");
    EXPECT_EQ(parse_ok({"purge", "/x", "--host", "api.test"}).host, "api.test");
}

TEST(CtlCommandLine, DoubleDashLetsARegexStartWithADash) {
    EXPECT_EQ(parse_ok({"ban", "--", "-draft$"}).argument, "-draft$");
    EXPECT_FALSE(parse({"ban", "-draft$"}).invocation.has_value());
}

TEST(CtlCommandLine, HelpAndVersionWinOverEverythingElse) {
    EXPECT_TRUE(parse_ok({"bogus", "--help"}).help);
    EXPECT_TRUE(parse_ok({"-h"}).help);
    EXPECT_TRUE(parse_ok({"--version", "purge"}).version);
    EXPECT_NE(usage_text().find("exit status"), std::string::npos);
}

TEST(CtlCommandLine, OriginCommandsNameTheActionPoolAndServer) {
    const ParsedCommandLine list = parse({"origins", "--json"});
    ASSERT_TRUE(list.invocation.has_value()) << list.error;
    EXPECT_EQ(list.invocation->command, Command::Origins);
    EXPECT_TRUE(list.invocation->json);
    const ParsedCommandLine drain = parse({"origin", "drain", "api", "10.0.0.1:80"});
    ASSERT_TRUE(drain.invocation.has_value()) << drain.error;
    EXPECT_EQ(drain.invocation->command, Command::OriginSet);
    EXPECT_EQ(drain.invocation->argument, "drain");
    EXPECT_EQ(drain.invocation->pool, "api");
    EXPECT_EQ(drain.invocation->server, "10.0.0.1:80");
}

TEST(CtlCommandLine, ReloadAndConfigTakeNoArgument) {
    const ParsedCommandLine reload = parse({"--config", "/etc/x.yaml", "reload"});
    ASSERT_TRUE(reload.invocation.has_value()) << reload.error;
    EXPECT_EQ(reload.invocation->command, Command::Reload);
    EXPECT_EQ(reload.invocation->config_path, "/etc/x.yaml");
    EXPECT_EQ(parse_ok({"config"}).command, Command::Config);
    EXPECT_NE(usage_text().find("reload"), std::string::npos);
}

TEST(CtlCommandLine, UsageErrorsSayWhatIsWrong) {
    const std::vector<std::pair<std::vector<std::string_view>, std::string>> cases = {
        {{}, "no command"},
        {{"flush"}, "unknown command 'flush'"},
        {{"status", "now"}, "status takes no argument"},
        {{"stats", "--all"}, "stats takes no argument"},
        {{"purge"}, "purge takes one of"},
        {{"purge", "/a", "/b"}, "purge takes one of"},
        {{"purge", "/a", "--tag", "t"}, "purge takes one of"},
        {{"purge", "--prefix", "v3"}, "starts with '/'"},
        {{"purge", "v3/listings"}, "starts with '/'"},
        {{"purge", "--all", "--host", "h"}, "--host goes with purge URL only"},
        {{"ban"}, "ban takes one REGEX"},
        {{"ban", ""}, "the REGEX is empty"},
        {{"--timeout", "soon", "status"}, "--timeout 'soon'"},
        {{"--timeout", "0", "status"}, "--timeout '0'"},
        {{"--admin"}, "--admin needs a non-empty value"},
        {{"--token-file=", "status"}, "--token-file needs a non-empty value"},
        {{"--verbose", "status"}, "unknown option '--verbose'"},
        {{"purge", "--all", "--soft"}, "--soft goes with purge URL, --prefix or --tag"},
        {{"origins", "api"}, "origins takes no argument"},
        {{"reload", "now"}, "reload takes no argument"},
        {{"config", "--all"}, "config takes no argument"},
        {{"routes", "api"}, "routes takes no argument"},
        {{"routes", "--all"}, "routes takes no argument"},
        {{"origin", "drain", "api"}, "origin takes drain|disable|enable POOL SERVER"},
        {{"origin", "pause", "api", "10.0.0.1:80"}, "the action is drain, disable or enable"},
    };
    for (const auto& [args, message] : cases) {
        const ParsedCommandLine parsed = parse(args);
        EXPECT_FALSE(parsed.invocation.has_value()) << message;
        EXPECT_NE(parsed.error.find(message), std::string::npos)
            << "wanted '" << message << "', got '" << parsed.error << "'";
    }
}

} // namespace
} // namespace lacquer::ctl
