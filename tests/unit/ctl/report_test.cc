// lacquerctl's output: aligned text with human-readable sizes, and JSON with stable keys.
#include "ctl/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lacquer::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

MetricsSummary sample_metrics() {
    MetricsSummary m;
    m.requests = {{"hit", 3}, {"miss", 1}, {"pass", 2}, {"synth", 0}};
    m.origin_servers = {{"api", "127.0.0.1:9000", true}, {"api", "127.0.0.1:9001", false}};
    m.version = "0.1.0";
    m.workers = 2;
    m.connections_open = 5;
    return m;
}

TEST(CtlReport, HumanBytes) {
    EXPECT_EQ(human_bytes(0), "0 B");
    EXPECT_EQ(human_bytes(1023), "1023 B");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bytes(64ULL << 20), "64.0 MiB");
    EXPECT_EQ(human_bytes(1ULL << 30), "1.0 GiB");
}

TEST(CtlReport, CountsSayObjectOrObjects) {
    EXPECT_EQ(count_text("purged", 1), "purged 1 object\n");
    EXPECT_EQ(count_text("purged", 0), "purged 0 objects\n");
    EXPECT_EQ(count_text("banned", 3), "banned 3 objects\n");
}

TEST(CtlReport, StatsTextLinesUp) {
    const StoreStats store{2, 1536, 64ULL << 20, 0};
    const MetricsSummary metrics = sample_metrics();
    EXPECT_EQ(stats_text(metrics, &store),
              "hit ratio    75.0% (3 of 4 cacheable requests since start)\n"
              "requests     hit 3, miss 1, pass 2\n"
              "objects      2\n"
              "bytes        1.5 KiB (1536) of 64.0 MiB\n"
              "evictions    0\n"
              "origins      1 up, 1 down\n"
              "  api 127.0.0.1:9000 up\n"
              "  api 127.0.0.1:9001 down\n");
    const std::string without_store = stats_text(MetricsSummary{}, nullptr);
    EXPECT_THAT(without_store, HasSubstr("hit ratio    - (no cacheable requests yet)\n"));
    EXPECT_THAT(without_store, HasSubstr("requests     none yet\n"));
    EXPECT_THAT(without_store, Not(HasSubstr("objects")));
}

TEST(CtlReport, StatsJson) {
    const StoreStats store{2, 1536, 4096, 1};
    EXPECT_EQ(stats_json(sample_metrics(), &store),
              "{\"hit_ratio\": 0.75, \"hits\": 3, \"cacheable_requests\": 4, "
              "\"requests\": {\"hit\": 3, \"miss\": 1, \"pass\": 2, \"synth\": 0}, "
              "\"objects\": 2, \"bytes\": 1536, \"budget\": 4096, \"evictions\": 1, "
              "\"origin_servers_up\": 1, \"origin_servers_down\": 1, \"origin_servers\": ["
              "{\"origin\": \"api\", \"server\": \"127.0.0.1:9000\", \"up\": true}, "
              "{\"origin\": \"api\", \"server\": \"127.0.0.1:9001\", \"up\": false}]}\n");
    EXPECT_EQ(stats_json(MetricsSummary{}, nullptr),
              "{\"hit_ratio\": null, \"hits\": 0, \"cacheable_requests\": 0, \"requests\": {}, "
              "\"objects\": null, \"bytes\": null, \"budget\": null, \"evictions\": null, "
              "\"origin_servers_up\": 0, \"origin_servers_down\": 0, \"origin_servers\": []}\n");
}

TEST(CtlReport, StatusTextAndJson) {
    StatusReport r;
    r.admin = "127.0.0.1:9190";
    r.live = true;
    r.ready = false;
    r.ready_message = "not ready: no origin server accepts connections";
    r.metrics = sample_metrics();
    const std::string text = status_text(r);
    EXPECT_THAT(text, HasSubstr("lacquerd     0.1.0 at 127.0.0.1:9190\n"
                                "live         yes\n"
                                "ready        no (not ready: no origin server accepts "
                                "connections)\n"
                                "workers      2\n"
                                "connections  5 open\n"
                                "hit ratio    75.0%"));
    const std::string json = status_json(r);
    EXPECT_THAT(json, HasSubstr("{\"admin\": \"127.0.0.1:9190\", \"version\": \"0.1.0\", "
                                "\"live\": true, \"ready\": false, \"ready_message\": \"not "
                                "ready: no origin server accepts connections\", \"workers\": 2, "
                                "\"connections_open\": 5, \"stats\": {\"hit_ratio\": 0.75"));
    EXPECT_THAT(json, HasSubstr("\"objects\": null"));
    EXPECT_EQ(json.back(), '\n');
}

TEST(CtlReport, JsonStringsAreEscaped) {
    StatusReport r;
    r.admin = "a\"b\\c\n";
    EXPECT_THAT(status_json(r), HasSubstr("\"admin\": \"a\\\"b\\\\c\\n\""));
    EXPECT_THAT(status_json(r), HasSubstr("\"version\": null"));
    EXPECT_THAT(status_json(r), HasSubstr("\"stats\": null"));
}

} // namespace
} // namespace lacquer::ctl
