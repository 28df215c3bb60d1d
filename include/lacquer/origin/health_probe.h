#pragma once
// Active health probes and the one place that watches every server's health (CONFIG.md
// `origins.*.health`). A HealthProber runs on its own event loop (a net::Worker the server
// owns, beside the workers), so each server is probed once per interval however many workers
// there are. Each probed server gets `GET path` on a new connection every interval (with up to
// 10% jitter, the first one at a random point of the first interval) and must answer
// `expect_status` within `timeout`; unhealthy_after failures in a row take it out,
// healthy_after successes bring it back (ServerHealth::record_probe). Every 100 ms it also
// looks at every server of every pool (probed or not) and logs each change of state once, and
// every 5 s it updates each server's recent error ratio.
// Thread: the probe loop's only, except that it may be built and given its first pools on the
// owner's thread before the loop runs, and destroyed there after the loop has ended.

#include "lacquer/metrics/registry.h"
#include "lacquer/net/timer.h"
#include "lacquer/origin/origin_pool.h"

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <vector>

namespace lacquer::net {
class Worker;
}

namespace lacquer::origin {

class HealthProber {
public:
    // `registry` declares the probe-duration histograms, counted into `shard` (the probe
    // loop's own). All four outlive the prober.
    HealthProber(net::Worker& loop, metrics::Registry& registry, metrics::Shard& shard,
                 std::ostream& log);
    ~HealthProber();
    HealthProber(const HealthProber&) = delete;
    HealthProber& operator=(const HealthProber&) = delete;

    // Watches and probes these pools from now on (at start, then after each reload). Probes of
    // servers that stay keep their schedule's phase; their health is kept in any case.
    void watch(const std::vector<OriginPoolSpec>& pools);

    std::size_t probes_running_for_test() const { return probes_.size(); }

private:
    class Probe;
    struct Watched {
        std::shared_ptr<ServerHealth> health;
        std::string pool;
        std::string server;
        ServerState logged = ServerState::Healthy;
        std::uint64_t exchanges = 0; // at the last error-rate window
        std::uint64_t failures = 0;
    };
    static void on_sweep(void* arg);
    void sweep();

    net::Worker& loop_;
    metrics::Registry& registry_;
    metrics::Shard& shard_;
    std::ostream& log_;
    std::minstd_rand random_;
    std::vector<std::unique_ptr<Probe>> probes_;
    std::map<const ServerHealth*, Watched> watched_;
    net::Timer sweep_timer_;
    unsigned sweeps_ = 0;
};

} // namespace lacquer::origin
