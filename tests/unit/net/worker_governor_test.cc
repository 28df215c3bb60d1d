// WorkerGovernor (workers: auto): every worker takes connections at first; workers that wait for
// a CPU a real share of their runnable time lose one (the figures measured with wrk on two shared
// cores); a lone saturated worker on a busy box stays alone; growth needs saturated workers, no
// waiting and idle CPUs, comes by the idle CPUs' count, and waits out a hold after each shrink,
// twice as long each time; light load decides nothing. The kernel's files parse, and a real
// thread and the real box read.
#include "lacquer/net/worker_governor.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>
#include <vector>

namespace lacquer::net {
namespace {

GovernorTuning quick() {
    GovernorTuning t;
    t.hold = 3;
    t.max_hold = 10;
    t.calm = 100;
    return t;
}

// The readings of two workers sharing two cores with wrk (session 6, schedstat over 2 s).
const std::vector<WorkerLoad> kShared = {{0.52, 0.09}, {0.39, 0.20}};
// One worker on a core, wrk on the other.
const std::vector<WorkerLoad> kAlone = {{0.99, 0.01}};

TEST(WorkerGovernor, EveryWorkerTakesConnectionsAtFirst) {
    EXPECT_EQ(WorkerGovernor(4).active(), 4u);
    EXPECT_EQ(WorkerGovernor(0).active(), 1u) << "at least one";
}

TEST(WorkerGovernor, WorkersWaitingForACpuLoseOneAndALoneSaturatedWorkerOnABusyBoxStays) {
    WorkerGovernor g(2, quick());
    EXPECT_EQ(g.decide(kShared, 0.32), 1u);
    for (int period = 0; period < 20; ++period) {
        EXPECT_EQ(g.decide(kAlone, 0.02), 1u) << "no idle CPU: another worker would only wait";
    }
}

TEST(WorkerGovernor, LightLoadDecidesNothingHoweverItsRatio) {
    WorkerGovernor g(2, quick());
    // Waiting half its runnable time, but the workers use 0.1 of a CPU together.
    EXPECT_EQ(g.decide(std::vector<WorkerLoad>{{0.05, 0.05}, {0.05, 0.05}}, 0.2), 2u);
    EXPECT_EQ(g.decide({}, 2.0), 2u) << "no readings, no decision";
}

TEST(WorkerGovernor, GrowthWaitsOutTheHoldThenComesByTheIdleCpus) {
    WorkerGovernor g(8, quick());
    for (unsigned want = 7; want >= 1; --want) {
        const std::vector<WorkerLoad> contended(want + 1, WorkerLoad{0.5, 0.3});
        ASSERT_EQ(g.decide(contended, 0), want);
    }
    // Saturated, not waiting, 3.4 CPUs idle: held for the last shrink's hold first (its hold
    // doubled at every shrink: 3, 6, 10, 10 ... periods).
    const std::vector<WorkerLoad> saturated = {{0.97, 0.01}};
    int held = 0;
    while (g.decide(saturated, 3.4) == 1 && held < 50) {
        ++held;
    }
    EXPECT_EQ(held, 9) << "the 7th shrink's hold: 10 periods, this one included";
    EXPECT_EQ(g.active(), 4u) << "three more at once: three idle CPUs";
    // Not every one saturated, or waiting, or no idle CPU: no growth.
    EXPECT_EQ(g.decide(std::vector<WorkerLoad>(4, WorkerLoad{0.97, 0.01}), 0.5), 4u);
    EXPECT_EQ(g.decide(std::vector<WorkerLoad>{{0.97, 0}, {0.97, 0}, {0.5, 0}, {0.97, 0}}, 3), 4u);
    EXPECT_EQ(g.decide(std::vector<WorkerLoad>(4, WorkerLoad{0.9, 0.1}), 3), 4u);
    EXPECT_EQ(g.decide(std::vector<WorkerLoad>(4, WorkerLoad{0.97, 0.0}), 7.5), 8u)
        << "at most every worker";
}

TEST(WorkerGovernor, EachShrinkHoldsGrowthTwiceAsLongUpToTheMostThenCalmResetsIt) {
    GovernorTuning t = quick();
    t.calm = 30;
    WorkerGovernor g(2, t);
    const std::vector<WorkerLoad> saturated = {{0.97, 0.01}};
    const auto periods_held = [&] {
        int held = 0;
        while (g.decide(saturated, 1.5) == 1 && held < 100) {
            ++held;
        }
        return held;
    };
    EXPECT_EQ(g.decide(kShared, 0), 1u);
    EXPECT_EQ(periods_held(), 2); // hold 3: two periods without growth, the third grows
    EXPECT_EQ(g.decide(kShared, 0), 1u);
    EXPECT_EQ(periods_held(), 5); // 6
    EXPECT_EQ(g.decide(kShared, 0), 1u);
    EXPECT_EQ(periods_held(), 9); // 10, the most
    EXPECT_EQ(g.decide(kShared, 0), 1u);
    EXPECT_EQ(periods_held(), 9);
    for (int period = 0; period < 30; ++period) { // calm: no shrink for `calm` periods
        EXPECT_EQ(g.decide(std::vector<WorkerLoad>{{0.5, 0}, {0.5, 0}}, 1), 2u);
    }
    EXPECT_EQ(g.decide(kShared, 0), 1u);
    EXPECT_EQ(periods_held(), 2) << "back to the first hold";
}

TEST(WorkerGovernorReadings, TheKernelsFilesParse) {
    const auto cpu =
        parse_cpu_times("cpu  100 5 50 800 20 1 2 3 7 0\n"
                        "cpu0 50 2 25 400 10 0 1 1 0 0\ncpu1 50 3 25 400 10 1 1 2 0 0\n"
                        "intr 12345\nctxt 999\n");
    ASSERT_TRUE(cpu);
    EXPECT_EQ(cpu->total, 981u) << "guest times are inside user and nice already";
    EXPECT_EQ(cpu->idle, 820u);
    EXPECT_EQ(cpu->cpus, 2u);
    const bool only_cpu1[] = {false, true};
    const auto one =
        parse_cpu_times("cpu  100 5 50 800 20 1 2 3 7 0\n"
                        "cpu0 50 2 25 400 10 0 1 1 0 0\ncpu1 50 3 25 300 10 1 1 2 0 0\n",
                        only_cpu1);
    ASSERT_TRUE(one) << "the CPUs this process may use";
    EXPECT_EQ(one->total, 392u);
    EXPECT_EQ(one->idle, 310u);
    EXPECT_EQ(one->cpus, 1u);
    EXPECT_FALSE(parse_cpu_times("intr 1\n"));
    EXPECT_FALSE(parse_cpu_times("cpu  1 2 3 4\ncpu0 1 2\n")) << "too few fields";
    EXPECT_FALSE(parse_cpu_times("cpu  1 2 3 4\n")) << "no cpuN line";
    const auto task = parse_task_times("123456789 2345678 90\n");
    ASSERT_TRUE(task);
    EXPECT_EQ(task->run_ns, 123456789u);
    EXPECT_EQ(task->wait_ns, 2345678u);
    EXPECT_FALSE(parse_task_times("123"));
    EXPECT_FALSE(parse_task_times(""));
    EXPECT_FALSE(parse_task_times("x 1 2"));
}

TEST(WorkerGovernorReadings, PeriodsBecomeFractions) {
    const WorkerLoad l = load_between({1'000'000'000, 0}, {1'400'000'000, 100'000'000}, 0.5);
    EXPECT_DOUBLE_EQ(l.run, 0.8);
    EXPECT_DOUBLE_EQ(l.wait, 0.2);
    EXPECT_DOUBLE_EQ(load_between({5, 5}, {4, 6}, 1).run, 0) << "a counter that went back";
    EXPECT_DOUBLE_EQ(idle_cpus_between({100, 1000, 4}, {150, 1100, 4}), 2.0);
    EXPECT_DOUBLE_EQ(idle_cpus_between({100, 1000, 4}, {150, 1000, 4}), 0);
}

TEST(WorkerGovernorReadings, ThisThreadAndThisBoxRead) {
    const auto before = read_task_times(::gettid());
    ASSERT_TRUE(before) << "/proc/self/task/TID/schedstat";
    volatile unsigned spin = 0;
    for (unsigned i = 0; i < 20'000'000; ++i) {
        spin = spin + i;
    }
    const auto after = read_task_times(::gettid());
    ASSERT_TRUE(after);
    EXPECT_GT(after->run_ns, before->run_ns) << "the spin ran on a CPU";
    const auto cpu = read_cpu_times();
    ASSERT_TRUE(cpu);
    cpu_set_t mine;
    CPU_ZERO(&mine);
    ASSERT_EQ(::sched_getaffinity(0, sizeof mine, &mine), 0);
    EXPECT_EQ(cpu->cpus, static_cast<unsigned>(CPU_COUNT(&mine))) << "this process's CPUs";
    EXPECT_GT(cpu->total, cpu->idle);
    EXPECT_FALSE(read_task_times(0x7ffffff0)) << "no such thread";
}

TEST(WorkerGovernorReadings, AutoCountsTheCpusThisProcessMayUseAndItsQuota) {
    EXPECT_EQ(quota_cpus_v2("max 100000\n"), 0u);
    EXPECT_EQ(quota_cpus_v2("150000 100000\n"), 2u) << "1.5 CPUs: rounded up";
    EXPECT_EQ(quota_cpus_v2("100000 100000\n"), 1u);
    EXPECT_EQ(quota_cpus_v2(""), 0u) << "no file: no limit";
    EXPECT_EQ(quota_cpus_v1("-1\n", "100000\n"), 0u);
    EXPECT_EQ(quota_cpus_v1("400000\n", "100000\n"), 4u);
    EXPECT_EQ(quota_cpus_v1("50000", ""), 0u);
    cpu_set_t mine;
    CPU_ZERO(&mine);
    ASSERT_EQ(::sched_getaffinity(0, sizeof mine, &mine), 0);
    const unsigned allowed = static_cast<unsigned>(CPU_COUNT(&mine));
    EXPECT_GE(usable_cpus(), 1u);
    EXPECT_LE(usable_cpus(), allowed);
    if (allowed >= 2) {
        // A process bound to one CPU (taskset -c 0, CPUAffinity=0) runs one worker.
        cpu_set_t one;
        CPU_ZERO(&one);
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &mine)) {
                CPU_SET(cpu, &one);
                break;
            }
        }
        ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
        const unsigned pinned = usable_cpus();
        ASSERT_EQ(::sched_setaffinity(0, sizeof mine, &mine), 0);
        EXPECT_EQ(pinned, 1u);
    }
}

} // namespace
} // namespace lacquer::net
