// process_*: /proc/<pid>/stat is read by field number after the command name, whatever the name
// holds; a short or damaged line gives nothing (never made-up zeros); and this test process's
// own figures are sane: open fds > 0 and within the limit, started a moment ago.
#include "metrics/process_collector.h"

#include <ctime>
#include <gtest/gtest.h>
#include <map>
#include <prometheus/client_metric.h>
#include <string>

namespace lacquer::metrics {
namespace {

// proc(5) fields 3..24 after "pid (comm)": utime 14, stime 15, starttime 22, vsize 23, rss 24.
constexpr std::string_view kStat =
    "4242 (lacq) (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
    "250 125 0 0 20 0 3 0 98765 263639040 2843 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 "
    "17 1 0 0 0 0 0\n";

TEST(ProcessCollector, ProcStatFieldsAreCountedAfterTheLastParenthesis) {
    const std::optional<ProcStat> s = parse_proc_stat(kStat);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->utime_ticks, 250u);
    EXPECT_EQ(s->stime_ticks, 125u);
    EXPECT_EQ(s->start_ticks, 98765u);
    EXPECT_EQ(s->virtual_bytes, 263639040u);
    EXPECT_EQ(s->resident_pages, 2843u);
}

TEST(ProcessCollector, AShortOrDamagedStatGivesNothing) {
    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("4242 lacq S 1 2 3"));
    EXPECT_FALSE(parse_proc_stat("4242 (lacq) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125"));
    std::string damaged(kStat);
    damaged.replace(damaged.find("250"), 3, "2x0");
    EXPECT_FALSE(parse_proc_stat(damaged));
}

TEST(ProcessCollector, BootTimeComesFromTheBtimeLine) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
    EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
    EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(ProcessCollector, ThisProcessFiguresAreSane) {
    std::map<std::string, double> values;
    for (const prometheus::MetricFamily& f : ProcessCollector().Collect()) {
        ASSERT_EQ(f.metric.size(), 1u) << f.name;
        values[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                                   : f.metric[0].gauge.value;
    }
    ASSERT_EQ(values.size(), 6u);
    EXPECT_GT(values["process_open_fds"], 2); // stdin, stdout, stderr at least
    EXPECT_LE(values["process_open_fds"], values["process_max_fds"]);
    EXPECT_GT(values["process_resident_memory_bytes"], 1 << 20);
    EXPECT_GE(values["process_virtual_memory_bytes"], values["process_resident_memory_bytes"]);
    EXPECT_GE(values["process_cpu_seconds_total"], 0);
    const double now = static_cast<double>(std::time(nullptr));
    EXPECT_LE(values["process_start_time_seconds"], now + 1);
    EXPECT_GT(values["process_start_time_seconds"], now - 600); // this test started it
}

} // namespace
} // namespace lacquer::metrics
