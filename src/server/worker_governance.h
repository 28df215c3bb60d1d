#pragma once
// `workers: auto` at run time: every period, on the probe loop, the running workers' time on a
// CPU and waiting for one, and the idle CPUs it may use, go to a net::WorkerGovernor, and the count
// it decides to the connection balancer (net/worker_governor.h). Private to src/server.

#include "lacquer/net/timer.h"
#include "lacquer/net/worker_governor.h"
#include "lacquer/server/server.h"

#include <chrono>
#include <optional>
#include <ostream>
#include <sys/types.h>
#include <vector>

namespace lacquer::server {

class WorkerGovernance {
public:
    // Armed at once; each tick runs on `loop`'s thread. Destroy it on that thread or after the
    // loop has ended.
    WorkerGovernance(Server::Impl& s, net::Worker& loop, std::ostream& log);

    static constexpr core::Millis kPeriod{500};

private:
    static void on_tick(void* self);
    void tick();
    // No governor from now on: every worker of `order` (the running ones) takes connections.
    void end(const std::vector<unsigned>& order);
    // A fresh governor for the workers `order` (all of them take connections).
    void restart(const std::vector<unsigned>& order, const std::vector<pid_t>& tids);

    Server::Impl& s_;
    std::ostream& log_;
    net::Timer timer_;
    std::optional<net::WorkerGovernor> governor_;     // nothing: workers is a fixed count
    std::vector<unsigned> order_;                     // the running workers' indices
    std::vector<std::optional<net::TaskTimes>> last_; // theirs, at the last tick
    std::optional<net::CpuTimes> last_cpu_;
    std::chrono::steady_clock::time_point last_at_{};
};

} // namespace lacquer::server
