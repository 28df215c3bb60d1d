// The fleet file (every refusal with FILE:LINE:COL, comments, relative token paths, limits),
// the fleet's report (one line per node, the sums, the failed nodes named; JSON) and its exit
// status, and the --fleet and reload words of the command line.
#include "ctl/command_line.h"
#include "ctl/fleet.h"
#include "ctl/fleet_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lacquer::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CtlFleetFile, NodesWithOptionalTokenFilesCommentsAndBlankLines) {
    const FleetParse p = parse_fleet("# the fleet\n"
                                     "\n"
                                     "10.0.0.11:9190 /etc/lacquer/admin.token\n"
                                     "  [fd00::12]:9190\ttokens/n2.token   # node 2\n"
                                     "node3.example:9190 tok#1\n"
                                     "10.0.0.14:9190 # no token\r\n",
                                     "fleet.txt", "/etc/lacquer");
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    ASSERT_EQ(p.nodes.size(), 4U);
    EXPECT_EQ(p.nodes[0].endpoint.text(), "10.0.0.11:9190");
    EXPECT_EQ(p.nodes[0].token_file, "/etc/lacquer/admin.token");
    EXPECT_EQ(p.nodes[0].line, 3U);
    EXPECT_EQ(p.nodes[1].endpoint.text(), "[fd00::12]:9190");
    EXPECT_EQ(p.nodes[1].token_file, "/etc/lacquer/tokens/n2.token");
    EXPECT_EQ(p.nodes[1].token_column, 19U);
    EXPECT_EQ(p.nodes[2].endpoint.text(), "node3.example:9190");
    EXPECT_EQ(p.nodes[2].token_file, "/etc/lacquer/tok#1"); // '#' inside a word is kept
    EXPECT_EQ(p.nodes[3].endpoint.text(), "10.0.0.14:9190");
    EXPECT_EQ(p.nodes[3].token_file, "");
}

TEST(CtlFleetFile, EveryBadLineIsNamedWithItsLineAndColumn) {
    const FleetParse p = parse_fleet("10.0.0.11:9190\n"
                                     "  10.0.0.12\n"
                                     "10.0.0.13:9190 t extra\n"
                                     "10.0.0.11:9190\n"
                                     "10.0.0.15:99999\n",
                                     "f", "");
    EXPECT_TRUE(p.nodes.size() == 1);
    EXPECT_THAT(p.errors,
                ElementsAre("f:2:3: '10.0.0.12' is not an admin address: HOST:PORT or [IPV6]:PORT",
                            "f:3:18: unexpected 'extra': a line is ADMIN_ADDRESS [TOKEN_FILE]",
                            "f:4:1: 10.0.0.11:9190 is already on line 1",
                            "f:5:1: '10.0.0.15:99999' is not an admin address: HOST:PORT or "
                            "[IPV6]:PORT"));
}

TEST(CtlFleetFile, AnEmptyFleetAndTooManyErrorsAreSaid) {
    EXPECT_THAT(parse_fleet("# nothing\n\n", "f", "").errors,
                ElementsAre("f: no nodes (one line per node: ADMIN_ADDRESS [TOKEN_FILE])"));
    std::string bad;
    for (int i = 0; i < 25; ++i) {
        bad += "x\n";
    }
    const FleetParse p = parse_fleet(bad, "f", "");
    ASSERT_EQ(p.errors.size(), kMaxFleetErrors + 1);
    EXPECT_EQ(p.errors.back(), "f: 5 more errors not shown");
}

TEST(CtlFleetFile, LoadReadsEachTokenFileAndNamesTheLineOfOneThatCannotBeRead) {
    const FleetParse missing = load_fleet_file("/nonexistent/fleet.txt", "");
    ASSERT_EQ(missing.errors.size(), 1U);
    EXPECT_THAT(missing.errors[0], HasSubstr("cannot read fleet file '/nonexistent/fleet.txt'"));
}

NodeOutcome ok_node(std::string node, std::uint64_t count) {
    NodeOutcome o;
    o.node = std::move(node);
    o.kind = NodeOutcome::Kind::Ok;
    o.http_status = 200;
    o.count = count;
    return o;
}

NodeOutcome failed_node(std::string node, NodeOutcome::Kind kind, std::string message) {
    NodeOutcome o;
    o.node = std::move(node);
    o.kind = kind;
    o.http_status = kind == NodeOutcome::Kind::Error ? 401 : 0;
    o.message = std::move(message);
    return o;
}

TEST(CtlFleetReport, OneLinePerNodeThenTheSumAndTheFailedNodes) {
    const std::vector<NodeOutcome> outcomes = {
        ok_node("10.0.0.11:9190", 2), ok_node("10.0.0.12:9190", 1),
        failed_node("10.0.0.13:9190", NodeOutcome::Kind::Unreachable,
                    "cannot connect to 10.0.0.13:9190: Connection refused")};
    EXPECT_EQ(fleet_text(Command::PurgeUrl, outcomes),
              "NODE            OUTCOME      DETAIL\n"
              "10.0.0.11:9190  ok           purged 2 objects\n"
              "10.0.0.12:9190  ok           purged 1 object\n"
              "10.0.0.13:9190  unreachable  cannot connect to 10.0.0.13:9190: Connection refused\n"
              "fleet: 2 of 3 nodes ok; purged 3 in all; failed: 10.0.0.13:9190\n");
    EXPECT_EQ(fleet_exit_status(outcomes), ExitStatus::Unreachable);
    EXPECT_EQ(fleet_json(Command::Ban, {ok_node("a:1", 4)}),
              "{\"command\": \"ban\", \"nodes\": [{\"node\": \"a:1\", \"outcome\": \"ok\", "
              "\"http_status\": 200, \"banned\": 4}], \"ok\": 1, \"failed\": [], \"banned\": 4}\n");
}

TEST(CtlFleetReport, AnErrorAnswerIsServerErrorUnlessANodeDidNotAnswer) {
    const NodeOutcome refused =
        failed_node("b:2", NodeOutcome::Kind::Error, "401 missing or wrong token");
    EXPECT_EQ(fleet_exit_status({ok_node("a:1", 0), refused}), ExitStatus::ServerError);
    EXPECT_EQ(fleet_exit_status({ok_node("a:1", 0)}), ExitStatus::Ok);
    EXPECT_THAT(fleet_json(Command::PurgeAll, {refused}),
                HasSubstr("{\"node\": \"b:2\", \"outcome\": \"error\", \"http_status\": 401, "
                          "\"error\": \"401 missing or wrong token\"}"));
}

TEST(CtlFleetReport, StatsSumObjectsAndHitRatioOverTheNodesThatAnswered) {
    NodeOutcome a = ok_node("a:1", 0);
    a.count.reset();
    a.store = StoreStats{2, 2048, 1 << 20, 0};
    a.metrics = MetricsSummary{};
    a.metrics->requests = {{"hit", 3}, {"miss", 1}, {"pass", 5}};
    NodeOutcome b = a;
    b.node = "b:2";
    b.store->objects = 1;
    b.metrics->requests = {{"hit", 1}, {"miss", 3}};
    const std::string text = fleet_text(Command::Stats, {a, b});
    EXPECT_THAT(text, HasSubstr("a:1   ok           objects 2, 2.0 KiB of 1.0 MiB, hit ratio 75.0% "
                                "(3 of 4)\n"));
    EXPECT_THAT(text, HasSubstr("fleet: 2 of 2 nodes ok; objects 3, 4.0 KiB, hit ratio 50.0% "
                                "(4 of 8)\n"));
    EXPECT_THAT(fleet_json(Command::Stats, {a, b}),
                HasSubstr("\"ok\": 2, \"failed\": [], \"objects\": 3, \"bytes\": 4096, \"hits\": "
                          "4, \"cacheable\": 8}\n"));
}

TEST(CtlFleetCommandLine, FleetAndReload) {
    const std::vector<std::string_view> args = {"--fleet", "/etc/lacquer/fleet", "purge", "--all"};
    const ParsedCommandLine parsed = parse_command_line(args);
    ASSERT_TRUE(parsed.invocation) << parsed.error;
    EXPECT_EQ(parsed.invocation->fleet_file, "/etc/lacquer/fleet");
    const std::vector<std::string_view> reload = {"reload", "--fleet=f"};
    EXPECT_EQ(parse_command_line(reload).invocation->command, Command::Reload);
    const std::vector<std::string_view> bad = {"reload", "now"};
    EXPECT_EQ(parse_command_line(bad).error, "reload takes no argument");
}

} // namespace
} // namespace lacquer::ctl
