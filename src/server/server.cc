#include "lacquer/server/server.h"

#include "cache_control.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/config/load.h"
#include "lacquer/config/reload.h"
#include "lacquer/net/listener.h"
#include "lacquer/net/worker.h"
#include "lacquer/origin/health_probe.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/origin/pool_report.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/generation.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/proxy/worker_context.h"
#include "listeners.h"
#include "observation.h"
#include "open_files.h"
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
#include <stdexcept>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unistd.h>

namespace lacquer::server {

namespace {
const int kHandledSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE};
// How long a reload waits for every worker to switch (each does it between two callbacks).
constexpr core::Millis kSwitchTime{5000};
} // namespace

void block_handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kHandledSignals) {
        sigaddset(&set, s);
    }
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// One worker: its loop, its listeners and its share of everything per-worker. Everything here
// lives on the worker's loop, so it ends in Server::stop() in an order where nothing outlives
// what it refers to; the worker (its event base, its queue) goes last.
struct WorkerSlot {
    std::unique_ptr<net::Worker> worker;
    std::unique_ptr<proxy::WorkerContext> context;
    std::vector<std::unique_ptr<net::Listener>> listeners;
};

namespace {
// The admin token: the file's content without surrounding whitespace; read once at start.
std::string read_admin_token(const config::AdminConfig& admin) {
    if (admin.token_file.empty()) {
        return {};
    }
    std::ifstream in(admin.token_file);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) {
        token.erase(0, 1);
    }
    if (!in && token.empty()) {
        throw config::ConfigError(admin.mark,
                                  "cannot read admin.token_file '" + admin.token_file + "'");
    }
    if (token.empty()) {
        throw config::ConfigError(admin.mark,
                                  "admin.token_file '" + admin.token_file + "' is empty");
    }
    return token;
}
} // namespace

struct Server::Impl {
    explicit Impl(const core::Clock& c) : clock(c) {}
    const core::Clock& clock; // every worker's, and the purges'
    std::string config_path;
    mutable std::mutex generation_mutex;
    std::shared_ptr<const proxy::Generation> generation; // what runs now; generation_mutex
    std::unique_ptr<cache::ObjectStore> store;           // shared by every worker; outlives them
    std::unique_ptr<cache::Coalescer> coalescer;         // likewise
    metrics::Registry registry;
    proxy::MetricSources sources;
    // Every generation's slots, kept for the process: small, and old gauges' readers point there.
    std::vector<std::unique_ptr<proxy::ProxyMetrics>> metrics;
    std::atomic<std::uint64_t> reloads_ok{0};
    std::atomic<std::uint64_t> reloads_failed{0};
    net::TlsStats tls_stats; // every TLS listener's handshakes, across reloads
    std::vector<std::unique_ptr<metrics::Shard>> shards; // one per worker
    // Origin server health, shared by every worker and kept across reloads; the probe loop
    // probes and watches it (origin/health_probe.h) from one place, beside the workers.
    std::unique_ptr<origin::HealthBook> health_book;
    std::unique_ptr<metrics::Shard> probe_shard;
    std::unique_ptr<net::Worker> probe_loop;
    std::unique_ptr<origin::HealthProber> prober;
    std::atomic<bool> ready{false};
    // The live transaction log: the workers write, the admin thread reads; outlives both.
    std::unique_ptr<proxy::TransactionLog> transactions;
    std::unique_ptr<admin::AdminServer> admin;
    std::string admin_token; // admin.token_file's content; the workers never forward it
    std::unique_ptr<proxy::AccessLog> access_log;
    std::atomic<std::uint32_t> open_connections{0};
    std::vector<BoundListener> listeners; // in config order; each worker's Listeners likewise
    std::vector<WorkerSlot> slots;
    unsigned workers = 1;
    bool started = false;
};

namespace {

// A config compiled for the workers, its metric series declared (found again when they exist).
std::shared_ptr<const proxy::Generation> build_generation(Server::Impl& s, config::Config config,
                                                          std::uint64_t number);

} // namespace

namespace {

std::shared_ptr<const proxy::Generation> running_generation(const Server::Impl& s) {
    std::lock_guard<std::mutex> lock(s.generation_mutex);
    return s.generation;
}

// /readyz, /origins and /origin/*: on the running generation's pools, from the admin thread.
void wire_origin_control(admin::AdminState& state, Server::Impl* impl) {
    state.origin_up = [impl] {
        const std::shared_ptr<const proxy::Generation> g = running_generation(*impl);
        const core::Instant now = impl->clock.now();
        const auto healthy = [&](std::size_t pool) {
            return g->pool_specs[pool].health->any_usable(now);
        };
        for (const proxy::Route& route : g->routes->routes()) {
            if (healthy(route.pool)) {
                return true;
            }
        }
        return !g->routes->default_route().reject && healthy(g->routes->default_route().pool);
    };
    state.origins.list = [impl](bool json) {
        const std::shared_ptr<const proxy::Generation> g = running_generation(*impl);
        return json ? origin::origins_json(g->pool_specs, impl->clock.now())
                    : origin::origins_text(g->pool_specs, impl->clock.now());
    };
    state.origins.set_mode = [impl](std::string_view pool, std::string_view server,
                                    std::string_view action, std::string& message) {
        const std::shared_ptr<const proxy::Generation> g = running_generation(*impl);
        const int status = origin::set_server_mode(g->pool_specs, pool, server, action,
                                                   impl->clock.now(), message);
        if (status == 200) {
            std::cerr << ("lacquerd: admin: " + message + "\n") << std::flush;
        }
        return status;
    };
}

} // namespace

Server::Server(config::Config config, std::string config_path, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(clock)) {
    Impl& s = *impl_;
    s.config_path = std::move(config_path);
    s.workers =
        config.workers != 0 ? config.workers : std::max(1u, std::thread::hardware_concurrency());
    ensure_open_files(config, s.workers, std::cerr); // before the sockets are opened
    s.store = std::make_unique<cache::ObjectStore>(config.storage.memory, config.storage.eviction);
    s.coalescer = std::make_unique<cache::Coalescer>();
    s.sources.store = s.store.get();
    s.sources.open_connections = &s.open_connections;
    s.sources.ready = &s.ready;
    s.sources.workers = s.workers;
    s.sources.version = LACQUER_VERSION_STRING;
    s.health_book = std::make_unique<origin::HealthBook>(clock);
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
        s.shards.push_back(std::make_unique<metrics::Shard>(s.registry.capacity()));
    }
    s.probe_shard = std::make_unique<metrics::Shard>(s.registry.capacity());
    s.transactions = std::make_unique<proxy::TransactionLog>(s.workers);
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
        std::string error;
        auto address = net::resolve(c.admin.address.host, c.admin.address.port, error);
        if (!address) {
            throw config::ConfigError(c.admin.mark, "cannot resolve admin address '" +
                                                        c.admin.address.text() + "': " + error);
        }
        admin::AdminState state;
        state.registry = &s.registry;
        for (const auto& shard : s.shards) {
            state.shards.push_back(shard.get());
        }
        state.ready = &s.ready;
        Impl* impl = &s;
        state.cache = make_cache_control(
            [impl]() -> std::shared_ptr<const proxy::RouteTable> {
                std::lock_guard<std::mutex> lock(impl->generation_mutex);
                return {impl->generation, impl->generation->routes.get()};
            },
            *s.store, s.clock, static_cast<std::size_t>(c.limits.max_uri_bytes));
        s.admin_token = read_admin_token(c.admin);
        state.token = s.admin_token;
        state.shards.push_back(s.probe_shard.get());
        wire_origin_control(state, impl);
        state.observe = make_observation_control(
            *s.transactions,
            [impl]() -> std::shared_ptr<const proxy::RouteTable> {
                std::lock_guard<std::mutex> lock(impl->generation_mutex);
                return {impl->generation, impl->generation->routes.get()};
            },
            *s.store, *s.coalescer, s.clock, static_cast<std::size_t>(c.limits.max_uri_bytes));
        s.admin = std::make_unique<admin::AdminServer>(*address, std::move(state));
    }
    s.access_log = proxy::AccessLog::open(c.log, s.workers);

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

unsigned Server::worker_count() const {
    return impl_->workers;
}

std::vector<std::uint16_t> Server::ports() const {
    std::vector<std::uint16_t> out;
    for (const BoundListener& l : impl_->listeners) {
        out.push_back(l.address.port());
    }
    return out;
}

void Server::start(std::ostream& out) {
    Impl& s = *impl_;
    s.slots.resize(s.workers);
    for (unsigned w = 0; w < s.workers; ++w) {
        WorkerSlot& slot = s.slots[w];
        slot.worker = std::make_unique<net::Worker>(w, s.clock);
        slot.context = std::make_unique<proxy::WorkerContext>(*slot.worker, s.open_connections);
        slot.context->access_log = s.access_log.get();
        slot.context->store = s.store.get();
        slot.context->coalescer = s.coalescer.get();
        slot.context->shard = s.shards[w].get();
        slot.context->admin_token = s.admin_token;
        slot.context->transactions = s.transactions.get();
        slot.context->transactions_watched = &s.transactions->watching_flag();
        slot.context->switch_to(std::make_unique<proxy::WorkerGeneration>(
            *slot.worker, s.generation, s.workers, s.shards[w].get()));
        for (std::size_t j = 0; j < s.listeners.size(); ++j) {
            BoundListener& l = s.listeners[j];
            slot.listeners.push_back(
                client_listener(*slot.worker, l.fds[w], slot.context.get(), j));
            l.fds[w] = -1; // owned by the listener now
        }
    }
    for (WorkerSlot& slot : s.slots) {
        slot.worker->start(nullptr);
    }
    s.probe_loop = std::make_unique<net::Worker>(s.workers, s.clock);
    s.prober = std::make_unique<origin::HealthProber>(*s.probe_loop, s.registry, *s.probe_shard,
                                                      std::cerr);
    s.prober->watch(s.generation->pool_specs);
    s.probe_loop->start(nullptr);
    if (s.admin) {
        s.admin->start();
    }
    s.started = true;
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
        if (sig == SIGUSR1 && impl_->access_log) {
            impl_->access_log->reopen();
        }
        if (sig == SIGHUP) {
            reload(std::cout, std::cerr);
        }
    }
}

namespace {

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
    g->pool_specs = origin::build_pool_specs(g->config, s.health_book.get(),
                                             running ? &running->pool_specs : nullptr);
    g->routes = std::make_unique<proxy::RouteTable>(g->config);
    g->listener_tls = build_listener_tls(g->config, &s.tls_stats); // reads the certificates
    s.metrics.push_back(
        proxy::declare_proxy_metrics(s.registry, *g->routes, g->pool_specs, s.sources));
    g->metrics = s.metrics.back().get();
    return g;
}

} // namespace

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

bool Server::reload(std::ostream& out, std::ostream& log) {
    Impl& s = *impl_;
    if (!s.started || s.config_path.empty()) {
        return false;
    }
    sd_notify(0, "RELOADING=1");
    std::shared_ptr<const proxy::Generation> next;
    ListenerPlan plan;
    try {
        config::Config loaded = config::load_config_file(s.config_path);
        check_supported(loaded);
        config::check_reloadable(running_config(s), loaded);
        plan = plan_listeners(s.listeners, loaded.listen, s.workers);
        std::uint64_t number = 0;
        {
            std::lock_guard<std::mutex> lock(s.generation_mutex);
            number = s.generation->number + 1;
        }
        next = build_generation(s, std::move(loaded), number);
    } catch (const std::exception& e) { // ConfigError (FILE:LINE:COL), or the metric capacity
        ++s.reloads_failed;
        // One write: stderr is unbuffered, and readers of the log must see whole lines.
        log << ("lacquerd: reload refused, the running config stays: " + std::string(e.what()) +
                "\n")
            << std::flush;
        sd_notify(0, "READY=1");
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(s.generation_mutex);
        s.generation = next;
    }
    if (s.store->budget() != next->config.storage.memory) {
        s.store->set_budget(next->config.storage.memory); // a smaller one evicts now
    }
    // The listener list as the new config has it: kept ones move, new ones come from `plan`.
    std::vector<BoundListener> listeners;
    for (std::size_t j = 0; j < plan.kept.size(); ++j) {
        listeners.push_back(plan.kept[j] >= 0 ? s.listeners[static_cast<std::size_t>(plan.kept[j])]
                                              : plan.bound[j]);
        listeners.back().config_text = next->config.listen[j].address_text();
    }
    // Each worker switches on its own thread; requests in flight finish on the old generation.
    auto switched = std::make_shared<std::atomic<unsigned>>(0);
    for (unsigned w = 0; w < s.workers; ++w) {
        WorkerSlot& slot = s.slots[w];
        proxy::WorkerContext* ctx = slot.context.get();
        net::Worker* worker = slot.worker.get();
        metrics::Shard* shard = s.shards[w].get();
        const unsigned workers = s.workers;
        std::vector<int> fds; // per new listener: this worker's new socket, or -1 (kept)
        for (BoundListener& l : listeners) {
            fds.push_back(l.fds.empty() ? -1 : l.fds[w]);
            if (!l.fds.empty()) {
                l.fds[w] = -1; // the worker's Listener owns it from the task on
            }
        }
        auto* running = &slot.listeners;
        slot.worker->post(
            [ctx, worker, shard, workers, next, switched, running, fds, kept = plan.kept] {
                ctx->switch_to(
                    std::make_unique<proxy::WorkerGeneration>(*worker, next, workers, shard));
                std::vector<std::unique_ptr<net::Listener>> now;
                for (std::size_t j = 0; j < kept.size(); ++j) {
                    now.push_back(kept[j] >= 0
                                      ? std::move((*running)[static_cast<std::size_t>(kept[j])])
                                      : client_listener(*worker, fds[j], ctx, j));
                    now.back()->set_index(j); // a kept socket may serve another entry now
                }
                running->swap(now); // the listeners not kept close here
                switched->fetch_add(1);
            });
    }
    s.probe_loop->post([prober = s.prober.get(), next] { prober->watch(next->pool_specs); });
    const auto deadline = std::chrono::steady_clock::now() + kSwitchTime;
    while (switched->load() < s.workers && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::size_t j = 0; j < plan.kept.size(); ++j) {
        if (plan.kept[j] < 0) {
            out << ("listening on " + listeners[j].address.text() +
                    " (worker threads: " + std::to_string(s.workers) + ")\n")
                << std::flush;
        }
    }
    for (std::size_t i = 0; i < s.listeners.size(); ++i) {
        const bool kept_now =
            std::find(plan.kept.begin(), plan.kept.end(), static_cast<int>(i)) != plan.kept.end();
        if (!kept_now && s.listeners[i].unix_socket) {
            remove_unix_socket(s.listeners[i]); // its sockets closed with the workers' listeners
        }
    }
    s.listeners = std::move(listeners);
    ensure_open_files(next->config, s.workers, log); // limits and origins may have grown
    ++s.reloads_ok;
    log << ("lacquerd: reloaded " + s.config_path + " (generation " + std::to_string(next->number) +
            ", " + std::to_string(switched->load()) + "/" + std::to_string(s.workers) +
            " workers switched)\n")
        << std::flush;
    sd_notify(0, "READY=1");
    return true;
}

void Server::drain(core::Millis within) {
    Impl& s = *impl_;
    if (!s.started) {
        return;
    }
    s.ready = false; // /readyz says 503 from now on: load balancers take us out
    for (WorkerSlot& slot : s.slots) {
        proxy::WorkerContext* ctx = slot.context.get();
        auto* listeners = &slot.listeners;
        // On the worker's own thread: close its listening sockets (new connections are refused
        // by the kernel) and let each connection end after its request in flight.
        slot.worker->post([ctx, listeners] {
            listeners->clear();
            proxy::drain_sessions(*ctx);
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (s.open_connections.load(std::memory_order_relaxed) > 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void Server::stop() {
    Impl& s = *impl_;
    if (!s.started) {
        return;
    }
    s.started = false;
    s.ready = false;
    if (s.admin) {
        s.admin->stop();
    }
    for (WorkerSlot& slot : s.slots) {
        slot.worker->stop();
    }
    s.probe_loop->stop();
    for (WorkerSlot& slot : s.slots) {
        slot.worker->join();
    }
    s.probe_loop->join();
    s.prober.reset(); // its probes' connections are disposed into the loop, destroyed next
    s.probe_loop->destroy_disposed();
    // The threads are gone; end what they left, each thing before what it refers to:
    // 1. listeners; sessions (the requests still in flight are logged as cut) and cache fills,
    //    of every worker (a fill's end posts to its waiters' workers, which must still exist);
    // 2. what those disposed (origin connections they closed, fills a cut session ended), which
    //    refer to the contexts;
    // 3. the contexts: their generations and origin pools (idle connections close here);
    // 4. what that disposed; the workers themselves (event bases, queues) go with the slots.
    for (WorkerSlot& slot : s.slots) {
        slot.listeners.clear();
        proxy::close_all_sessions(*slot.context);
    }
    for (WorkerSlot& slot : s.slots) {
        slot.worker->destroy_disposed();
    }
    for (WorkerSlot& slot : s.slots) {
        slot.context.reset();
        slot.worker->destroy_disposed();
    }
    if (s.access_log) {
        s.access_log->flush(); // the cut requests' lines, before the process exits
    }
}

} // namespace lacquer::server
