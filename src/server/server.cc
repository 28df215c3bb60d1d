#include "lacquer/server/server.h"

#include "cache_control.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/config/load.h"
#include "lacquer/config/reload.h"
#include "lacquer/net/listener.h"
#include "lacquer/net/worker.h"
#include "lacquer/net/worker_governor.h"
#include "lacquer/origin/health_probe.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/origin/pool_report.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/generation.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/proxy/worker_context.h"
#include "listeners.h"
#include "open_files.h"
#include "server_impl.h"
#include "snapshot_files.h"
#include "tls_setup.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unistd.h>

namespace lacquer::server {

namespace {
const int kHandledSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE};
// How long a reload waits for every worker to switch (each does it between two callbacks).
} // namespace

void block_handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kHandledSignals) {
        sigaddset(&set, s);
    }
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Server::Server(config::Config config, std::string config_path, const core::Clock& clock,
               origin::NameBook::Resolver resolver)
    : impl_(std::make_unique<Impl>(clock)) {
    Impl& s = *impl_;
    s.server = this;
    s.config_path = std::move(config_path);
    s.workers = config.workers != 0 ? config.workers : net::usable_cpus();
    ensure_open_files(config, s.workers, std::cerr); // before the sockets are opened
    s.store = std::make_unique<cache::ObjectStore>(config.storage.memory, config.storage.eviction);
    s.coalescer = std::make_unique<cache::Coalescer>();
    s.sources.store = s.store.get();
    s.sources.open_connections = &s.open_connections;
    s.sources.balancer = &s.balancer;
    s.sources.ready = &s.ready;
    s.sources.workers = s.workers;
    s.sources.version = LACQUER_VERSION_STRING;
    s.health_book = std::make_unique<origin::HealthBook>(clock);
    s.names = resolver ? std::make_unique<origin::NameBook>(std::move(resolver))
                       : std::make_unique<origin::NameBook>();
    s.generation = build_generation(s, std::move(config), 1);
    const config::Config& c = s.generation->config;
    for (const char* result : {"success", "failure"}) {
        std::atomic<std::uint64_t>* n =
            std::string_view(result) == "success" ? &s.reloads_ok : &s.reloads_failed;
        s.registry.counter_fn("lacquer_config_reloads_total", "Configuration reloads, by result.",
                              {{"result", result}}, [n] { return static_cast<double>(n->load()); });
    }
    declare_tls_metrics(s.registry, s.tls_stats);
    for (unsigned w = 0; w < s.workers; ++w) {
        take_worker_index(s); // 0 .. workers - 1, each with its shard
    }
    s.probe_shard = std::make_unique<metrics::Shard>(s.registry.capacity());
    // Room for every worker index a reload may use: running and retiring workers together, at
    // most twice the 256 threads a config may ask for.
    s.transactions = std::make_unique<proxy::TransactionLog>(s.workers, 512);
    {
        // Read at scrape, on the admin thread: the log's one reader.
        const proxy::TransactionLog* log = s.transactions.get();
        s.registry.gauge("lacquer_transaction_log_watchers",
                         "Clients watching the live transaction log (lacquerctl log and top)", {},
                         [log] { return static_cast<double>(log->watchers()); });
        s.registry.counter_fn("lacquer_transaction_log_dropped_total",
                              "Transaction log records dropped because a watcher read too slowly",
                              {}, [log] { return static_cast<double>(log->ring_drops()); });
    }
    if (c.admin.present) {
        std::string token;
        s.admin = bind_admin(s, c, token);
        if (!token.empty()) {
            s.admin_tokens.push_back(std::make_unique<const std::string>(std::move(token)));
        }
    }
    s.log_slots = s.workers;
    s.access_log = proxy::AccessLog::open(c.log, s.log_slots);

    // Every worker gets its own socket per listen address (SO_REUSEPORT).
    for (const config::ListenerConfig& l : c.listen) {
        s.listeners.push_back(bind_listener(l, s.workers));
    }
}

Server::~Server() {
    stop();
    for (BoundListener& l : impl_->listeners) {
        close_unowned(l);
    }
}

// Both read what a reload replaces (on the signal or the admin thread): under its lock.
unsigned Server::worker_count() const {
    std::lock_guard<std::mutex> serialised(impl_->reload_mutex);
    return impl_->workers;
}

std::vector<std::uint16_t> Server::ports() const {
    std::lock_guard<std::mutex> serialised(impl_->reload_mutex);
    std::vector<std::uint16_t> out;
    for (const BoundListener& l : impl_->listeners) {
        out.push_back(l.address.port());
    }
    return out;
}

void Server::start(std::ostream& out) {
    Impl& s = *impl_;
    s.snapshots = std::make_unique<SnapshotFiles>(
        *s.store, s.clock,
        [impl = &s] {
            std::lock_guard<std::mutex> lock(impl->generation_mutex);
            return impl->generation;
        },
        std::cerr);
    s.snapshots->load(); // the warm restart: before anything is served or READY=1
    for (unsigned w = 0; w < s.workers; ++w) {
        s.slots.push_back(make_worker_slot(s, w, s.generation));
        WorkerSlot& slot = *s.slots.back();
        for (std::size_t j = 0; j < s.listeners.size(); ++j) {
            BoundListener& l = s.listeners[j];
            slot.listeners.push_back(
                client_listener(*slot.worker, l.fds[w], slot.context.get(), j));
            l.fds[w] = -1; // owned by the listener now
        }
    }
    for (auto& slot : s.slots) {
        slot->worker->start(nullptr);
    }
    s.probe_loop = std::make_unique<net::Worker>(s.workers, s.clock);
    s.prober = std::make_unique<origin::HealthProber>(*s.probe_loop, s.registry, *s.probe_shard,
                                                      std::cerr);
    s.prober->watch(s.generation->pool_specs);
    s.governance = std::make_unique<WorkerGovernance>(s, *s.probe_loop, std::cerr);
    s.probe_loop->start(nullptr);
    // A POST /reload may come as soon as the admin listener runs: it waits for the lines below.
    std::lock_guard<std::mutex> serialised(s.reload_mutex);
    if (s.admin) {
        s.admin->start();
    }
    s.started = true;
    // Origin server names re-resolved when due: a changed address set rebuilds the pools.
    s.name_watch = std::make_unique<NameWatch>(
        *s.names, s.clock,
        [impl = &s] {
            std::ostringstream quiet; // no listener changes: nothing to say on stdout
            apply_config(*impl, quiet, std::cerr, true);
        },
        std::cerr);
    s.snapshots->start_periodic();
    s.ready = true;
    for (const BoundListener& l : s.listeners) {
        out << "listening on " << l.address.text() << " (worker threads: " << s.workers << ")\n";
    }
    if (s.admin) {
        out << "admin listening on " << s.admin->address().text() << "\n";
    }
    out.flush();
    sd_notify(0, "READY=1");
}

int Server::wait_for_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kHandledSignals) {
        sigaddset(&set, sig);
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            sd_notify(0, "STOPPING=1");
            core::Millis within{0};
            {
                std::lock_guard<std::mutex> lock(impl_->generation_mutex);
                within = impl_->generation->config.limits.drain_timeout; // as last reloaded
            }
            drain(within);
            stop();
            return 0;
        }
        if (sig == SIGUSR1) {
            std::lock_guard<std::mutex> lock(impl_->log_mutex);
            if (impl_->access_log) {
                impl_->access_log->reopen();
            }
        }
        if (sig == SIGHUP) {
            reload(std::cout, std::cerr);
        }
    }
}

bool Server::reload(std::ostream& out, std::ostream& log) {
    return reload_config(out, log).applied;
}

Server::ReloadOutcome Server::reload_config(std::ostream& out, std::ostream& log) {
    return apply_config(*impl_, out, log, false);
}

void Server::drain(core::Millis within) {
    Impl& s = *impl_;
    if (!s.started) {
        return;
    }
    s.ready = false; // /readyz says 503 from now on: load balancers take us out
    std::unique_lock<std::mutex> serialised(s.reload_mutex); // a reload in flight ends first
    s.draining = true;                                       // and none starts after
    s.balancer.leave_all(); // a draining worker takes no connection from another
    for (auto& slot : s.slots) {
        WorkerSlot* sp = slot.get();
        // On the worker's own thread: close its listening sockets (new connections are refused
        // by the kernel) and let each connection end after its request in flight.
        sp->worker->post([sp] {
            sp->listeners.clear();
            sp->adopted.clear();
            proxy::drain_sessions(*sp->context);
        });
    }
    serialised.unlock();
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (s.open_connections.load(std::memory_order_relaxed) > 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void Server::stop() {
    Impl& s = *impl_;
    s.name_watch.reset(); // before the lock: a rebuild it runs takes it
    std::unique_lock<std::mutex> serialised(s.reload_mutex); // a reload in flight ends first
    if (!s.started) {
        return;
    }
    s.started = false; // no reload starts from now on
    s.ready = false;
    serialised.unlock(); // the admin thread may wait for it (POST /reload) while we join it
    if (s.admin) {
        s.admin->stop();
    }
    reap_retired_admins(s, true);
    s.hurry = true; // workers a reload removed: stop waiting for their connections
    s.balancer.leave_all();
    for (auto& slot : s.slots) {
        slot->worker->stop();
    }
    s.probe_loop->stop();
    for (auto& slot : s.slots) {
        slot->worker->join();
    }
    s.probe_loop->join();
    s.governance.reset(); // its timer, on the ended loop
    // Every other loop has ended: what the removed workers still hold is cut with nothing
    // posting to them or waiting on them.
    reap_retired_workers(s, true);
    s.snapshots->stop_and_save(); // after the drain, nothing inserts any more
    s.prober.reset(); // its probes' connections are disposed into the loop, destroyed next
    s.probe_loop->destroy_disposed();
    // The threads are gone; end what they left, each thing before what it refers to:
    // 1. listeners; sessions (the requests still in flight are logged as cut) and cache fills,
    //    of every worker (a fill's end posts to its waiters' workers, which must still exist);
    // 2. what those disposed (origin connections they closed, fills a cut session ended), which
    //    refer to the contexts;
    // 3. the contexts: their generations and origin pools (idle connections close here);
    // 4. what that disposed; the workers themselves (event bases, queues) go with the slots.
    for (auto& slot : s.slots) {
        slot->listeners.clear();
        slot->adopted.clear();
        proxy::close_all_sessions(*slot->context);
    }
    for (auto& slot : s.slots) {
        slot->worker->destroy_disposed();
    }
    for (auto& slot : s.slots) {
        slot->context.reset();
        slot->worker->destroy_disposed();
    }
    s.retiring.clear(); // removed workers' loops: a fill ended above may have posted there
    std::lock_guard<std::mutex> lock(s.log_mutex);
    if (s.access_log) {
        s.access_log->flush(); // the cut requests' lines, before the process exits
    }
}

} // namespace lacquer::server
