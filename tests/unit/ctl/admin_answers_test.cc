// Reading the admin listener's answers: the JSON counts and the /metrics series lacquerctl shows,
// in the exact shapes admin_server.cc and the metrics registry write.
#include "ctl/admin_answers.h"

#include <gtest/gtest.h>

namespace lacquer::ctl {
namespace {

constexpr std::string_view kMetrics = R"(# HELP lacquer_build_info Build information (always 1).
# TYPE lacquer_build_info gauge
lacquer_build_info{version="0.1.0"} 1
# HELP lacquer_workers Worker threads (event loops).
# TYPE lacquer_workers gauge
lacquer_workers 4
# TYPE lacquer_requests_total counter
lacquer_requests_total{route="listings",cache_status="hit"} 6
lacquer_requests_total{route="listings",cache_status="miss"} 2
lacquer_requests_total{route="listings",cache_status="stale"} 1
lacquer_requests_total{route="listings",cache_status="pass"} 0
lacquer_requests_total{route="default",cache_status="hit"} 1
lacquer_requests_total{route="default",cache_status="miss"} 0
lacquer_requests_total{route="default",cache_status="stale"} 0
lacquer_requests_total{route="default",cache_status="pass"} 5
lacquer_requests_total{route="-",cache_status="synth"} 3
lacquer_request_duration_seconds_bucket{route="-",cache_status="synth",le="0.0005"} 3
# TYPE lacquer_origin_server_up gauge
lacquer_origin_server_up{origin="api",server="127.0.0.1:9000"} 1
lacquer_origin_server_up{origin="api",server="[::1]:9001"} 0
lacquer_origin_server_up{origin="say \"hi\"",server="a\\b"} 1
lacquer_connections_open 7
lacquer_broken{route="x" 1
)";

TEST(CtlAdminAnswers, JsonCountsAsTheAdminListenerWritesThem) {
    EXPECT_EQ(json_count("{\"purged\": 3}\n", "purged"), 3u);
    EXPECT_EQ(json_count("{\"banned\":0}", "banned"), 0u);
    EXPECT_EQ(json_count("{\"purged\": 3}", "banned"), std::nullopt);
    EXPECT_EQ(json_count("{\"purged\": \"3\"}", "purged"), std::nullopt);
    EXPECT_EQ(json_count("{\"purged\": -1}", "purged"), std::nullopt);
}

TEST(CtlAdminAnswers, StoreStatsNeedEveryField) {
    const auto stats = parse_store_stats(
        "{\"objects\": 4, \"bytes\": 2048, \"budget\": 67108864, \"evictions\": 1}\n");
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->objects, 4u);
    EXPECT_EQ(stats->bytes, 2048u);
    EXPECT_EQ(stats->budget, 67108864u);
    EXPECT_EQ(stats->evictions, 1u);
    EXPECT_FALSE(parse_store_stats("{\"objects\": 4, \"bytes\": 2048}").has_value());
    EXPECT_FALSE(parse_store_stats("401 Unauthorized").has_value());
}

TEST(CtlAdminAnswers, MetricsSummedOverRoutesInTheirOrder) {
    const MetricsSummary m = summarise_metrics(kMetrics);
    ASSERT_EQ(m.requests.size(), 5u);
    EXPECT_EQ(m.requests[0].first, "hit");
    EXPECT_EQ(m.requests_with("hit"), 7u);
    EXPECT_EQ(m.requests_with("miss"), 2u);
    EXPECT_EQ(m.requests_with("stale"), 1u);
    EXPECT_EQ(m.requests_with("pass"), 5u);
    EXPECT_EQ(m.requests_with("synth"), 3u); // the histogram's _bucket line is not a request
    EXPECT_EQ(m.requests_with("coalesced"), 0u);
    EXPECT_EQ(m.version, "0.1.0");
    EXPECT_EQ(m.workers, 4u);
    EXPECT_EQ(m.connections_open, 7u);
}

TEST(CtlAdminAnswers, OriginServersWithEscapedLabels) {
    const MetricsSummary m = summarise_metrics(kMetrics);
    ASSERT_EQ(m.origin_servers.size(), 3u);
    EXPECT_EQ(m.origin_servers[0].server, "127.0.0.1:9000");
    EXPECT_TRUE(m.origin_servers[0].up);
    EXPECT_EQ(m.origin_servers[1].server, "[::1]:9001");
    EXPECT_FALSE(m.origin_servers[1].up);
    EXPECT_EQ(m.origin_servers[2].origin, "say \"hi\"");
    EXPECT_EQ(m.origin_servers[2].server, "a\\b");
    EXPECT_EQ(m.servers_up(), 2u);
}

TEST(CtlAdminAnswers, HitRatioAsTheDashboardComputesIt) {
    const HitRatio r = hit_ratio(summarise_metrics(kMetrics));
    EXPECT_EQ(r.hits, 8u);       // hit 7 + stale 1
    EXPECT_EQ(r.cacheable, 10u); // everything but pass 5 and synth 3
    ASSERT_TRUE(r.ratio().has_value());
    EXPECT_DOUBLE_EQ(*r.ratio(), 0.8);
    EXPECT_FALSE(hit_ratio(MetricsSummary{}).ratio().has_value());
}

TEST(CtlAdminAnswers, TextThatIsNotMetricsGivesNothing) {
    const MetricsSummary m = summarise_metrics("garbage\n{}\n lacquer_workers\n\n");
    EXPECT_TRUE(m.requests.empty());
    EXPECT_TRUE(m.origin_servers.empty());
    EXPECT_FALSE(m.workers.has_value());
}

} // namespace
} // namespace lacquer::ctl
