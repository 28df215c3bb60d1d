// The reload: a config (the file read again, or the running one when origin names moved) made
// into a generation and applied to the running server: listeners kept or bound, workers added
// or removed (live_workers.cc), the admin listener and the access log (live_admin.cc), then
// every worker switched. Serialised by the reload lock (server_impl.h).
#include "lacquer/config/load.h"
#include "lacquer/config/reload.h"
#include "lacquer/net/worker_governor.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/route_table.h"
#include "listeners.h"
#include "open_files.h"
#include "server_impl.h"
#include "tls_setup.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <ostream>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unistd.h>

namespace lacquer::server {

namespace {
// How long a reload waits for every worker to take the new generation.
constexpr core::Millis kSwitchTime{5000};
} // namespace

std::shared_ptr<const proxy::Generation> build_generation(Server::Impl& s, config::Config config,
                                                          std::uint64_t number) {
    auto g = std::make_shared<proxy::Generation>();
    g->number = number;
    g->config = std::move(config);
    std::shared_ptr<const proxy::Generation> running;
    {
        std::lock_guard<std::mutex> lock(s.generation_mutex);
        running = s.generation; // nullptr at start
    }
    // A reload keeps each pool's retry budget and admission count when their limits stay.
    g->pool_specs = origin::build_pool_specs(
        g->config, s.health_book.get(), running ? &running->pool_specs : nullptr, s.names.get());
    g->routes = std::make_unique<proxy::RouteTable>(g->config);
    g->listener_tls = build_listener_tls(g->config, &s.tls_stats); // reads the certificates
    s.metrics.push_back(
        proxy::declare_proxy_metrics(s.registry, *g->routes, g->pool_specs, s.sources));
    g->metrics = s.metrics.back().get();
    return g;
}

namespace {

// The listeners a reload keeps (by the config's address text, else by the address it resolves
// to: a listener can never be bound beside itself, see bind_listener) and the ones it binds;
// `kept[j]` is the running index of new listener j, or -1 when `bound[j]` was just bound.
// Throws like bind_listener(), with nothing left open.
struct ListenerPlan {
    std::vector<int> kept;
    std::vector<BoundListener> bound;
};

const config::Config& running_config(const Server::Impl& s) {
    std::lock_guard<std::mutex> lock(s.generation_mutex);
    return s.generation->config; // lives while s.generation holds it (this thread replaces it)
}

ListenerPlan plan_listeners(const std::vector<BoundListener>& running,
                            const std::vector<config::ListenerConfig>& next, unsigned workers) {
    ListenerPlan plan;
    std::vector<bool> used(running.size(), false);
    try {
        for (const config::ListenerConfig& l : next) {
            int found = -1;
            for (std::size_t i = 0; i < running.size() && found < 0; ++i) {
                if (!used[i] && running[i].config_text == l.address_text()) {
                    used[i] = true;
                    found = static_cast<int>(i);
                }
            }
            std::string error;
            const std::optional<net::SocketAddress> address =
                found < 0 && l.address.port != 0 && l.unix_path.empty()
                    ? net::resolve(l.address.host, l.address.port, error)
                    : std::nullopt;
            for (std::size_t i = 0; address && i < running.size() && found < 0; ++i) {
                if (!used[i] && running[i].address.text() == address->text()) {
                    used[i] = true; // "localhost:8080" where "127.0.0.1:8080" runs
                    found = static_cast<int>(i);
                }
            }
            if (found >= 0 && !l.unix_path.empty()) {
                apply_unix_permissions(l); // a kept socket file takes the new mode and owner
            }
            plan.kept.push_back(found);
            plan.bound.push_back(found >= 0 ? BoundListener{} : bind_listener(l, workers));
        }
    } catch (...) {
        for (BoundListener& b : plan.bound) {
            close_unowned(b);
        }
        throw;
    }
    return plan;
}

} // namespace

namespace {

// A refusal's text: FILE:LINE:COL first, whatever refused (a socket that cannot be bound says
// where its setting is; the rest points at the file).
std::string refusal_text(const std::exception& e, const std::string& file) {
    if (dynamic_cast<const config::ConfigError*>(&e) != nullptr) {
        return e.what();
    }
    return file + ":1:1: " + e.what();
}

// The switch of one worker that stays: the new generation, and its listeners as the next config
// has them (kept ones move, new ones from `fds`, taken-over ones re-indexed or closed).
void switch_worker(WorkerSlot& slot, const std::shared_ptr<const proxy::Generation>& next,
                   unsigned workers, const std::vector<int>& kept, const std::vector<int>& fds) {
    proxy::WorkerContext* ctx = slot.context.get();
    net::Worker& worker = *slot.worker;
    ctx->switch_to(std::make_unique<proxy::WorkerGeneration>(worker, next, workers, ctx->shard));
    std::vector<std::unique_ptr<net::Listener>> now;
    for (std::size_t j = 0; j < kept.size(); ++j) {
        std::unique_ptr<net::Listener> l =
            kept[j] >= 0 ? std::move(slot.listeners[static_cast<std::size_t>(kept[j])])
                         : (fds[j] >= 0 ? client_listener(worker, fds[j], ctx, j) : nullptr);
        if (l) {
            l->set_index(j); // a kept socket may serve another entry now
        }
        now.push_back(std::move(l));
    }
    slot.listeners.swap(now); // the listeners not kept close here
    std::vector<std::unique_ptr<net::Listener>> adopted;
    for (auto& l : slot.adopted) {
        const auto found = std::find(kept.begin(), kept.end(), static_cast<int>(l->index()));
        if (found != kept.end()) {
            l->set_index(static_cast<std::size_t>(found - kept.begin()));
            adopted.push_back(std::move(l));
        }
    }
    slot.adopted.swap(adopted);
}

} // namespace

// A reload (`rebuild` false: the config file, read again) or a rebuild of the running config
// (`rebuild`: origin server names resolve to other addresses now, origin/name_book.h).
Server::ReloadOutcome apply_config(Server::Impl& s, std::ostream& out, std::ostream& log,
                                   bool rebuild) {
    Server::ReloadOutcome outcome;
    if (!s.started || (s.config_path.empty() && !rebuild)) {
        outcome.message = "this lacquerd has no config file to reload";
        return outcome;
    }
    std::lock_guard<std::mutex> serialised(s.reload_mutex); // SIGHUP and POST /reload
    if (!s.started || s.draining) {
        outcome.message = s.config_path + ":1:1: lacquerd is stopping";
        return outcome;
    }
    reap_retired_workers(s, false);
    reap_retired_admins(s, false);
    sd_notify(0, "RELOADING=1");
    std::shared_ptr<const proxy::Generation> next;
    ListenerPlan plan;
    WorkerPlan workers_plan;
    SideChanges side;
    const unsigned running_workers = s.workers;
    try {
        config::Config loaded =
            rebuild ? running_config(s) : config::load_config_file(s.config_path);
        check_supported(loaded);
        config::check_reloadable(running_config(s), loaded);
        const unsigned to = loaded.workers != 0 ? loaded.workers : net::usable_cpus();
        plan = plan_listeners(s.listeners, loaded.listen, to);
        try {
            std::vector<BoundListener> next_listeners; // for the sockets of new workers
            for (std::size_t j = 0; j < plan.kept.size(); ++j) {
                next_listeners.push_back(plan.kept[j] >= 0
                                             ? s.listeners[static_cast<std::size_t>(plan.kept[j])]
                                             : plan.bound[j]);
            }
            workers_plan = plan_workers(s, to, next_listeners, plan.kept);
        } catch (const std::runtime_error& e) {
            throw config::ConfigError(loaded.workers_mark, e.what());
        }
        unsigned slots = 0; // the worker indices the access log must take lines from
        for (unsigned i = 0; i < s.index_used.size(); ++i) {
            slots = s.index_used[i] ? i + 1 : slots;
        }
        slots = std::max(slots, static_cast<unsigned>(s.index_used.size()) +
                                    (to > running_workers ? to - running_workers : 0));
        side = prepare_side_changes(s, running_config(s), loaded, slots);
        std::uint64_t number = 0;
        {
            std::lock_guard<std::mutex> lock(s.generation_mutex);
            number = s.generation->number + 1;
        }
        s.sources.workers = to; // lacquer_workers, declared again with the generation
        next = build_generation(s, std::move(loaded), number);
    } catch (const std::exception& e) { // ConfigError (FILE:LINE:COL), a socket, the metrics
        s.sources.workers = running_workers;
        for (BoundListener& b : plan.bound) {
            close_unowned(b);
        }
        close_plan(workers_plan);
        outcome.message = refusal_text(e, s.config_path);
        // One write: stderr is unbuffered, and readers of the log must see whole lines.
        if (rebuild) {
            log << ("lacquerd: origin addresses changed, but the pools stay as they are: " +
                    outcome.message + "\n")
                << std::flush;
        } else {
            ++s.reloads_failed;
            log << ("lacquerd: reload refused, the running config stays: " + outcome.message + "\n")
                << std::flush;
        }
        sd_notify(0, "READY=1");
        return outcome;
    }
    {
        std::lock_guard<std::mutex> lock(s.generation_mutex);
        s.generation = next;
    }
    if (s.store->budget() != next->config.storage.memory) {
        s.store->set_budget(next->config.storage.memory); // a smaller one evicts now
    }
    s.workers = workers_plan.to;
    // The log first: new workers start with it, and the others take it before the switch.
    apply_side_changes(s, side, out);
    // The listener list as the new config has it: kept ones move, new ones come from `plan`.
    std::vector<BoundListener> listeners;
    for (std::size_t j = 0; j < plan.kept.size(); ++j) {
        listeners.push_back(plan.kept[j] >= 0 ? s.listeners[static_cast<std::size_t>(plan.kept[j])]
                                              : plan.bound[j]);
        listeners.back().config_text = next->config.listen[j].address_text();
    }
    // Each worker that stays switches on its own thread; requests in flight finish on the old
    // generation.
    const unsigned staying = std::min(workers_plan.from, workers_plan.to);
    auto switched = std::make_shared<std::atomic<unsigned>>(0);
    for (unsigned w = 0; w < staying; ++w) {
        WorkerSlot* slot = s.slots[w].get();
        std::vector<int> fds; // per new listener: this worker's new socket, or -1 (kept)
        for (std::size_t j = 0; j < listeners.size(); ++j) {
            BoundListener& l = listeners[j];
            const bool fresh = plan.kept[j] < 0 && w < l.fds.size();
            fds.push_back(fresh ? l.fds[w] : -1);
            if (fresh) {
                l.fds[w] = -1; // the worker's Listener owns it from the task on
            }
        }
        slot->worker->post([slot, next, workers = s.workers, switched, fds, kept = plan.kept] {
            switch_worker(*slot, next, workers, kept, fds);
            switched->fetch_add(1);
        });
    }
    s.probe_loop->post([prober = s.prober.get(), next] { prober->watch(next->pool_specs); });
    for (std::size_t i = 0; i < s.listeners.size(); ++i) {
        const bool kept_now =
            std::find(plan.kept.begin(), plan.kept.end(), static_cast<int>(i)) != plan.kept.end();
        if (!kept_now && s.listeners[i].unix_socket) {
            remove_unix_socket(s.listeners[i]); // its sockets closed with the workers' listeners
        }
    }
    s.listeners = std::move(listeners);
    apply_worker_plan(s, workers_plan, next, plan.kept); // removed ones go, new ones start
    for (BoundListener& l : s.listeners) {
        for (int& fd : l.fds) { // sockets bound for workers that are not there
            if (fd >= 0) {
                ::close(fd);
                fd = -1;
            }
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + kSwitchTime;
    while (switched->load() < staying && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::size_t j = 0; j < plan.kept.size(); ++j) {
        if (plan.kept[j] < 0) {
            out << ("listening on " + s.listeners[j].address.text() +
                    " (worker threads: " + std::to_string(s.workers) + ")\n")
                << std::flush;
        }
    }
    ensure_open_files(next->config, s.workers, log); // limits and origins may have grown
    if (rebuild) {
        log << ("lacquerd: origin addresses changed: pools rebuilt (generation " +
                std::to_string(next->number) + ")\n")
            << std::flush;
        sd_notify(0, "READY=1");
        outcome.applied = true;
        outcome.generation = next->number;
        return outcome;
    }
    ++s.reloads_ok;
    std::string workers_note =
        std::to_string(switched->load()) + "/" + std::to_string(staying) + " workers switched";
    if (workers_plan.to != workers_plan.from) {
        workers_note += ", worker threads " + std::to_string(workers_plan.from) + " -> " +
                        std::to_string(workers_plan.to);
    }
    log << ("lacquerd: reloaded " + s.config_path + " (generation " + std::to_string(next->number) +
            ", " + workers_note + ")\n")
        << std::flush;
    sd_notify(0, "READY=1");
    outcome.applied = true;
    outcome.generation = next->number;
    return outcome;
}

} // namespace lacquer::server
