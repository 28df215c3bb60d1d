// How many workers take new connections under `workers: auto` (worker_governor.h).
#include "lacquer/net/worker_governor.h"

#include "lacquer/core/proc_file.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sched.h>
#include <string>
#include <thread>

namespace lacquer::net {

WorkerGovernor::WorkerGovernor(unsigned most, GovernorTuning tuning)
    : most_(std::max(1u, most)), tuning_(tuning), active_(most_), next_hold_(tuning.hold) {}

unsigned WorkerGovernor::decide(std::span<const WorkerLoad> active_loads, double idle_cpus) {
    hold_ = hold_ > 0 ? hold_ - 1 : 0;
    if (++since_shrink_ >= tuning_.calm) {
        next_hold_ = tuning_.hold; // long enough without a shrink: growth is trusted again
    }
    if (active_loads.empty()) {
        return active_;
    }
    double run = 0;
    double wait = 0;
    bool saturated = true;
    for (const WorkerLoad& l : active_loads) {
        run += l.run;
        wait += l.wait;
        saturated = saturated && l.run >= tuning_.busy;
    }
    const double waiting = run + wait > 0 ? wait / (run + wait) : 0;
    if (active_ > 1 && run >= tuning_.least_run && waiting >= tuning_.contended) {
        --active_;
        hold_ = next_hold_;
        next_hold_ = std::min(next_hold_ * 2, tuning_.max_hold);
        since_shrink_ = 0;
        return active_;
    }
    if (active_ < most_ && saturated && waiting < tuning_.contended / 2 && hold_ == 0 &&
        idle_cpus >= tuning_.idle_to_grow) {
        const auto more = static_cast<unsigned>(std::max(1.0, std::floor(idle_cpus)));
        active_ = std::min(most_, active_ + more);
    }
    return active_;
}

namespace {

// The unsigned decimal at the front of `text` (after spaces), which moves past it.
std::optional<std::uint64_t> take_number(std::string_view& text) {
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

} // namespace

std::optional<CpuTimes> parse_cpu_times(std::string_view text, std::span<const bool> allowed) {
    // "cpu  ..." (the total), then one "cpuN user nice system idle iowait irq softirq steal guest
    // guest_nice" line per CPU: the CPUs in `allowed` (all when empty) are summed.
    if (text.substr(0, 4) != "cpu ") {
        return std::nullopt;
    }
    CpuTimes out;
    for (std::size_t at = text.find("\ncpu"); at != std::string_view::npos;
         at = text.find("\ncpu", at + 4)) {
        std::string_view line = text.substr(at + 4);
        line = line.substr(0, line.find('\n'));
        const std::optional<std::uint64_t> cpu = take_number(line);
        if (!cpu || (!allowed.empty() && (*cpu >= allowed.size() || !allowed[*cpu]))) {
            continue;
        }
        CpuTimes one;
        for (int field = 0; field < 8; ++field) { // guest times are inside user and nice already
            const std::optional<std::uint64_t> v = take_number(line);
            if (!v) {
                if (field < 4) {
                    return std::nullopt;
                }
                break;
            }
            one.total += *v;
            one.idle += field == 3 || field == 4 ? *v : 0;
        }
        out.total += one.total;
        out.idle += one.idle;
        ++out.cpus;
    }
    if (out.cpus == 0) {
        return std::nullopt;
    }
    return out;
}

std::optional<TaskTimes> parse_task_times(std::string_view text) {
    const std::optional<std::uint64_t> run = take_number(text);
    const std::optional<std::uint64_t> wait = take_number(text);
    if (!run || !wait) {
        return std::nullopt;
    }
    return TaskTimes{*run, *wait};
}

std::optional<CpuTimes> read_cpu_times() {
    // The CPUs this process may run on: idle ones elsewhere are no room for a worker.
    cpu_set_t set;
    CPU_ZERO(&set);
    bool allowed[CPU_SETSIZE] = {};
    std::size_t count = 0;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            allowed[cpu] = CPU_ISSET(cpu, &set);
            count = allowed[cpu] ? static_cast<std::size_t>(cpu) + 1 : count;
        }
    }
    return parse_cpu_times(core::read_proc_file("/proc/stat"),
                           std::span<const bool>(allowed, count));
}

std::optional<TaskTimes> read_task_times(pid_t tid) {
    const std::string path = "/proc/self/task/" + std::to_string(tid) + "/schedstat";
    return parse_task_times(core::read_proc_file(path.c_str()));
}

namespace {

// A quota over a period, in CPUs rounded up; 0 for none.
unsigned quota_over(std::optional<std::uint64_t> quota, std::optional<std::uint64_t> period) {
    if (!quota || !period || *quota == 0 || *period == 0) {
        return 0;
    }
    return static_cast<unsigned>((*quota + *period - 1) / *period);
}

// The tightest quota along `path` and its parents under `root` (a cgroup's limit is its own or an
// ancestor's, whichever is smaller); 0 for none. `read` gives a directory's quota.
template <typename Read>
unsigned tightest_quota(const std::string& root, std::string path, Read read) {
    unsigned best = 0;
    for (int depth = 0; depth < 64; ++depth) { // a path has fewer levels than that
        const unsigned q = read(root + path);
        best = q != 0 && (best == 0 || q < best) ? q : best;
        if (path.empty() || path == "/") {
            break;
        }
        const std::size_t slash = path.rfind('/');
        path = slash == std::string::npos ? std::string() : path.substr(0, slash);
    }
    return best;
}

unsigned cgroup_quota_cpus() {
    const std::string cgroups = core::read_proc_file("/proc/self/cgroup");
    unsigned best = 0;
    std::string_view rest = cgroups;
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        // "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1)
        const std::size_t first = line.find(':');
        const std::size_t second =
            first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos) {
            continue;
        }
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const std::string path(line.substr(second + 1));
        unsigned q = 0;
        if (controllers.empty()) {
            q = tightest_quota("/sys/fs/cgroup", path, [](const std::string& dir) {
                return quota_cpus_v2(core::read_proc_file((dir + "/cpu.max").c_str()));
            });
        } else if ((std::string(",") + std::string(controllers) + ",").find(",cpu,") !=
                   std::string::npos) {
            for (const char* mount : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
                q = tightest_quota(mount, path, [](const std::string& dir) {
                    return quota_cpus_v1(
                        core::read_proc_file((dir + "/cpu.cfs_quota_us").c_str()),
                        core::read_proc_file((dir + "/cpu.cfs_period_us").c_str()));
                });
                if (q != 0) {
                    break;
                }
            }
        }
        best = q != 0 && (best == 0 || q < best) ? q : best;
    }
    return best;
}

} // namespace

unsigned quota_cpus_v2(std::string_view cpu_max) {
    if (cpu_max.substr(0, 3) == "max") {
        return 0;
    }
    const std::optional<std::uint64_t> quota = take_number(cpu_max);
    return quota_over(quota, take_number(cpu_max));
}

unsigned quota_cpus_v1(std::string_view quota_us, std::string_view period_us) {
    return quota_over(take_number(quota_us), take_number(period_us)); // "-1": not a number
}

unsigned usable_cpus() {
    unsigned cpus = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        cpus = static_cast<unsigned>(CPU_COUNT(&set));
    }
    if (cpus == 0) {
        cpus = std::thread::hardware_concurrency();
    }
    const unsigned quota = cgroup_quota_cpus();
    if (quota != 0 && quota < cpus) {
        cpus = quota;
    }
    return std::max(1u, cpus);
}

WorkerLoad load_between(const TaskTimes& before, const TaskTimes& after, double seconds) {
    if (seconds <= 0 || after.run_ns < before.run_ns || after.wait_ns < before.wait_ns) {
        return {};
    }
    return {static_cast<double>(after.run_ns - before.run_ns) / (seconds * 1e9),
            static_cast<double>(after.wait_ns - before.wait_ns) / (seconds * 1e9)};
}

double idle_cpus_between(const CpuTimes& before, const CpuTimes& after) {
    if (after.total <= before.total || after.idle < before.idle) {
        return 0;
    }
    return static_cast<double>(after.idle - before.idle) /
           static_cast<double>(after.total - before.total) * after.cpus;
}

} // namespace lacquer::net
