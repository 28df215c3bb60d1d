#pragma once
// `workers: auto`: how many of the workers take new connections (issue 16). An event loop that
// shares its CPUs with other busy threads (a load generator, a batch job, another server) loses
// twice: it runs only part of each core, so it wakes for a few events at a time, thousands of
// times a second, and each wake-up can queue behind the other thread for a scheduler slice
// while every connection of that loop waits. Measured on 2 shared cores with wrk: two workers
// ran 0.52 and 0.39 of a core, slept 13-19k times a second and waited on a run queue 9-20% of
// the time (p99 3.7 ms, 78k req/s); one worker ran 0.99 of a core and waited 1% (p99 0.26 ms,
// 127k req/s). The governor reads each worker's time on a CPU and waiting for one
// (/proc/self/task/TID/schedstat) and the idle CPUs it may run on (/proc/stat) once a period:
//   - when the workers taking connections wait for a CPU a real share of their runnable time,
//     one fewer takes them (their connections are asked to reconnect, see ConnectionBalancer);
//   - when every one of them is saturated, none waits, and those CPUs are idle, more take them
//     (as many as there are idle CPUs, at least one);
//   - a shrink holds growth back for a while, twice as long each time a grow did not last.
// It starts with every worker taking connections: a box of its own behaves as with a fixed count.
// The pure part (decide) is tested alone; the readers parse what the kernel writes.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <sys/types.h>

namespace lacquer::net {

// One worker over the last period, as fractions of the period's wall time.
struct WorkerLoad {
    double run = 0;  // on a CPU
    double wait = 0; // runnable, waiting for a CPU
};

struct GovernorTuning {
    double busy = 0.85;        // a worker this much on a CPU is saturated
    double contended = 0.15;   // waiting this share of their runnable time: CPUs are short
    double least_run = 0.2;    // CPUs the workers must use together before contention counts
    double idle_to_grow = 0.6; // idle CPUs (of those it may use) for one more worker
    unsigned hold = 20;        // periods without growth after a shrink, doubled up to max_hold
    unsigned max_hold = 1200;
    unsigned calm = 1200; // periods without a shrink after which the hold is back to `hold`
};

class WorkerGovernor {
public:
    explicit WorkerGovernor(unsigned most, GovernorTuning tuning = {});

    unsigned active() const { return active_; }
    // One period's readings of the active workers (active() of them, any fewer is taken as they
    // are) and of the idle CPUs it may use: the count of workers that take connections next.
    unsigned decide(std::span<const WorkerLoad> active_loads, double idle_cpus);

private:
    const unsigned most_;
    const GovernorTuning tuning_;
    unsigned active_;
    unsigned hold_ = 0;  // periods left before a grow may happen
    unsigned next_hold_; // the hold the next shrink sets
    unsigned since_shrink_ = 0;
};

// The kernel's figures behind a period's readings.
struct CpuTimes {
    std::uint64_t idle = 0;  // idle + iowait, in ticks, over the CPUs counted
    std::uint64_t total = 0; // every state
    unsigned cpus = 0;       // the CPUs counted
};
struct TaskTimes {
    std::uint64_t run_ns = 0;
    std::uint64_t wait_ns = 0;
};
// /proc/stat's text, summed over the CPUs `allowed` marks (every one when empty); nothing when
// it is not /proc/stat or no CPU is counted.
std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat,
                                        std::span<const bool> allowed = {});
// /proc/<pid>/task/<tid>/schedstat's text ("run wait timeslices").
std::optional<TaskTimes> parse_task_times(std::string_view schedstat);
std::optional<CpuTimes> read_cpu_times();            // the CPUs this process may run on
std::optional<TaskTimes> read_task_times(pid_t tid); // a thread of this process

// The workers `workers: auto` starts: the CPUs this process may run on (its affinity: taskset,
// systemd's CPUAffinity=, a container's cpuset), fewer when its cgroup's CPU quota allows fewer
// (cgroup v2 cpu.max, v1 cpu.cfs_quota_us: a Kubernetes CPU limit), rounded up; at least 1.
unsigned usable_cpus();
// A quota's CPUs, rounded up; 0 when there is no limit or the text is not one.
unsigned quota_cpus_v2(std::string_view cpu_max);                              // "150000 100000"
unsigned quota_cpus_v1(std::string_view quota_us, std::string_view period_us); // "-1", "100000"

// Each period's fractions from two readings `seconds` apart.
WorkerLoad load_between(const TaskTimes& before, const TaskTimes& after, double seconds);
double idle_cpus_between(const CpuTimes& before, const CpuTimes& after);

} // namespace lacquer::net
