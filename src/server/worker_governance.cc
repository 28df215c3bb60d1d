// `workers: auto` at run time (worker_governance.h).
#include "worker_governance.h"

#include "server_impl.h"

#include <algorithm>
#include <cstddef>
#include <mutex>

namespace lacquer::server {

WorkerGovernance::WorkerGovernance(Server::Impl& s, net::Worker& loop, std::ostream& log)
    : s_(s), log_(log), timer_(loop, &WorkerGovernance::on_tick, this) {
    timer_.arm(kPeriod);
}

void WorkerGovernance::on_tick(void* self) {
    static_cast<WorkerGovernance*>(self)->tick();
}

void WorkerGovernance::end(const std::vector<unsigned>& order) {
    if (governor_ && governor_->active() < order_.size()) {
        s_.balancer.set_active(order, order.size()); // every worker takes connections again
    }
    governor_.reset();
}

void WorkerGovernance::restart(const std::vector<unsigned>& order, const std::vector<pid_t>& tids) {
    end(order);
    governor_.emplace(static_cast<unsigned>(order.size()));
    order_ = order;
    last_.clear();
    for (const pid_t tid : tids) {
        last_.push_back(tid != 0 ? net::read_task_times(tid) : std::nullopt);
    }
    last_cpu_ = net::read_cpu_times();
    last_at_ = std::chrono::steady_clock::now();
}

void WorkerGovernance::tick() {
    timer_.arm(kPeriod);
    // A reload or a drain in progress changes the workers: this period is skipped.
    std::unique_lock<std::mutex> serialised(s_.reload_mutex, std::try_to_lock);
    if (!serialised.owns_lock() || !s_.started || s_.draining) {
        return;
    }
    bool automatic = false;
    {
        std::lock_guard<std::mutex> lock(s_.generation_mutex);
        const config::Config& c = s_.generation->config;
        // Only the balancer can keep new connections off a worker: a listener the kernel
        // balances alone (balance: kernel) would undo every decision.
        automatic = c.workers == 0 &&
                    std::all_of(c.listen.begin(), c.listen.end(),
                                [](const config::ListenerConfig& l) { return l.balance_exact; });
    }
    std::vector<unsigned> order;
    std::vector<pid_t> tids;
    for (const auto& slot : s_.slots) {
        order.push_back(slot->worker->index());
        tids.push_back(slot->worker->tid());
    }
    if (!automatic) {
        end(order);
        return;
    }
    if (!governor_ || order != order_) {
        restart(order, tids);
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_at_).count();
    last_at_ = now;
    std::vector<net::WorkerLoad> loads;
    for (std::size_t k = 0; k < tids.size(); ++k) {
        const std::optional<net::TaskTimes> times =
            tids[k] != 0 ? net::read_task_times(tids[k]) : std::nullopt;
        if (k < governor_->active() && times && last_[k]) {
            loads.push_back(net::load_between(*last_[k], *times, seconds));
        }
        last_[k] = times;
    }
    const std::optional<net::CpuTimes> cpu = net::read_cpu_times();
    const double idle = cpu && last_cpu_ ? net::idle_cpus_between(*last_cpu_, *cpu) : 0;
    last_cpu_ = cpu;
    if (loads.size() != governor_->active()) {
        return; // a worker's figures could not be read: decide on whole readings only
    }
    const unsigned before = governor_->active();
    const unsigned after = governor_->decide(loads, idle);
    if (after == before) {
        return;
    }
    s_.balancer.set_active(order, after);
    double run = 0;
    double wait = 0;
    for (const net::WorkerLoad& l : loads) {
        run += l.run;
        wait += l.wait;
    }
    log_ << "workers: auto: " << after << " of " << order.size()
         << " workers take new connections (was " << before << "; they ran " << run
         << " CPUs and waited " << wait << " for one, " << idle << " CPUs idle)\n";
    log_.flush();
}

} // namespace lacquer::server
