#pragma once
// Server::Impl, shared by server.cc (start, reload, drain, stop) and the files that change a
// running server on reload (live_workers.cc: worker threads; live_admin.cc: the admin listener
// and the access log). Private to src/server.

#include "lacquer/admin/admin_server.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/connection_balancer.h"
#include "lacquer/net/listener.h"
#include "lacquer/net/tls_context.h"
#include "lacquer/net/worker.h"
#include "lacquer/origin/health_probe.h"
#include "lacquer/origin/name_book.h"
#include "lacquer/origin/server_health.h"
#include "lacquer/proxy/access_log.h"
#include "lacquer/proxy/generation.h"
#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/transaction_log.h"
#include "lacquer/proxy/worker_context.h"
#include "lacquer/server/server.h"
#include "listeners.h"
#include "name_watch.h"
#include "snapshot_files.h"
#include "worker_governance.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::server {

// One worker: its loop, its listeners and its share of everything per-worker. Everything here
// lives on the worker's loop, so it ends in Server::stop() in an order where nothing outlives
// what it refers to; the worker (its event base, its queue) goes last.
struct WorkerSlot {
    std::unique_ptr<net::Worker> worker;
    std::unique_ptr<proxy::WorkerContext> context;
    std::vector<std::unique_ptr<net::Listener>> listeners; // [j]: the config's listener j
    // Sockets taken over from workers a reload removed (their backlog is served here, so no
    // connection is refused); each Listener's index says which config entry it serves.
    std::vector<std::unique_ptr<net::Listener>> adopted;
};

// A worker a reload removed: its listeners went to the others, its connections finish, then
// its thread (`reaper`) ends it and sets `done`.
struct RetiringWorker {
    std::unique_ptr<WorkerSlot> slot;
    std::thread reaper;
    std::atomic<bool> done{false};
    // Set by the reaper, under the mutex, before the worker stops: from then on nobody reads
    // slot->context (the reaper resets it), and on_every_worker leaves this worker out.
    std::mutex stopping_mutex;
    bool stopping = false;
};

// Worker indices the connection balancer has room for (config's most workers: 256), with room
// for the indices a reload's new workers take while removed ones retire.
inline constexpr unsigned kBalancedWorkers = 512;

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
    net::TlsStats tls_stats; // the TLS metrics' slots: every listener's, across reloads
    // One per worker index, kept for the process: a removed worker's counts stay in the totals
    // (a counter never goes down), and a later worker reuses its index once it has ended.
    std::vector<std::unique_ptr<metrics::Shard>> shards;
    std::vector<bool> index_used; // [worker index]: a running or retiring worker holds it
    // Origin server health, shared by every worker and kept across reloads; the probe loop
    // probes and watches it (origin/health_probe.h) from one place, beside the workers.
    std::unique_ptr<origin::HealthBook> health_book;
    // Where origin server names resolve, and the thread that re-resolves them (resolve_every).
    std::unique_ptr<origin::NameBook> names;
    std::unique_ptr<NameWatch> name_watch;
    std::unique_ptr<metrics::Shard> probe_shard;
    std::unique_ptr<net::Worker> probe_loop;
    std::unique_ptr<origin::HealthProber> prober;
    // workers: auto: how many workers take new connections, decided on the probe loop.
    std::unique_ptr<WorkerGovernance> governance;
    Server* server = nullptr; // for POST /reload
    std::atomic<bool> ready{false};
    // The live transaction log: the workers write, the admin thread reads; outlives both.
    std::unique_ptr<proxy::TransactionLog> transactions;
    std::unique_ptr<admin::AdminServer> admin;
    // Admin listeners a reload replaced: their requests in flight finish, then they end.
    std::vector<std::unique_ptr<admin::AdminServer>> retired_admins;
    // admin.token_file's content, every one read (the workers hold views of the last one);
    // the workers never forward it.
    std::vector<std::unique_ptr<const std::string>> admin_tokens;
    std::unique_ptr<proxy::AccessLog> access_log;
    std::vector<std::unique_ptr<proxy::AccessLog>> retired_logs; // a worker may still hold
    unsigned log_slots = 0; // access_log's per-worker buffers: every index below it may write
    std::atomic<std::uint32_t> open_connections{0};
    // Moves new connections to the least loaded worker (listen[].balance: exact). Declared
    // before the workers: a connection posted to one that stops closes through it.
    net::ConnectionBalancer balancer{kBalancedWorkers};
    std::vector<BoundListener> listeners; // in config order; each worker's Listeners likewise
    // The running workers; slots[p] got fds[p]. Held by pointer: tasks posted to a worker
    // refer to its slot while the list changes.
    std::vector<std::unique_ptr<WorkerSlot>> slots;
    std::vector<std::unique_ptr<RetiringWorker>> retiring;
    std::unique_ptr<SnapshotFiles> snapshots; // storage.snapshot: read at start, written at stop
    unsigned workers = 1;
    std::atomic<bool> started{false};
    bool draining = false;          // reload_mutex; drain() began: no reload applies
    std::atomic<bool> hurry{false}; // stopping: retiring workers cut what is left at once
    std::mutex reload_mutex;        // SIGHUP and POST /reload: one reload at a time
    std::mutex log_mutex;           // access_log's pointer: reload swaps, SIGUSR1 reopens

    const std::string& admin_token() const {
        static const std::string kNone;
        return admin_tokens.empty() ? kNone : *admin_tokens.back();
    }
};

// live_config.cc ------------------------------------------------------------------------------

// A config compiled for the workers, its metric series declared (found again when they exist).
std::shared_ptr<const proxy::Generation> build_generation(Server::Impl& s, config::Config config,
                                                          std::uint64_t number);
// A reload (`rebuild` false: the config file, read again) or a rebuild of the running config
// (`rebuild`: origin server names resolve to other addresses now, origin/name_book.h).
Server::ReloadOutcome apply_config(Server::Impl& s, std::ostream& out, std::ostream& log,
                                   bool rebuild);

// live_workers.cc ------------------------------------------------------------------------------

// A free worker index (its shard made when new); marks it used.
unsigned take_worker_index(Server::Impl& s);
// A worker (not started) at `index` on `generation`, without listeners.
std::unique_ptr<WorkerSlot>
make_worker_slot(Server::Impl& s, unsigned index,
                 const std::shared_ptr<const proxy::Generation>& generation);
// Every admin-visible shard: each worker index's, then the probe loop's.
std::vector<const metrics::Shard*> all_shards(const Server::Impl& s);

// What a reload changes in the worker set, prepared before anything is switched (so that a
// socket that cannot be opened refuses the reload) and applied after.
struct WorkerPlan {
    unsigned from = 0;
    unsigned to = 0;
    // For a grown set: [new worker][listener j of the next config] the socket it listens on
    // (-1: none; live_workers.cc's markers: a socket the workers that stay give it when it
    // starts, one they adopted or a duplicate of a Unix socket).
    std::vector<std::vector<int>> extra_fds;
};
// `next_listeners`: the next config's listeners (new ones bound with `to` sockets); `kept[j]`:
// the running index of listener j, -1 when new. Throws std::runtime_error (nothing left open)
// when a socket cannot be opened.
WorkerPlan plan_workers(const Server::Impl& s, unsigned to,
                        const std::vector<BoundListener>& next_listeners,
                        const std::vector<int>& kept);
void close_plan(WorkerPlan& plan);
// Server thread, once s.listeners is the next config's and the generation switch was posted to
// the workers that stay: the removed workers hand their sockets to the ones that stay (posted
// to them: adopt), drain and retire; the new ones start on `next`.
void apply_worker_plan(Server::Impl& s, WorkerPlan& plan,
                       const std::shared_ptr<const proxy::Generation>& next,
                       const std::vector<int>& kept);
// Joins the retiring workers that have ended, ends them and frees their indices. `all` (stop,
// once every other loop has ended): joins every reaper (they cut what is left at once) and
// keeps the workers for Server::stop() to end last.
void reap_retired_workers(Server::Impl& s, bool all);

// live_admin.cc -------------------------------------------------------------------------------

// The admin token: the file's content without surrounding white space. Throws ConfigError.
std::string read_admin_token(const config::AdminConfig& admin);
// The admin listener of `config`, bound (not started), its state wired, its token read
// into `token`. Throws config::ConfigError (an address that does not resolve, a token file that
// cannot be read), std::runtime_error when the address cannot be bound.
std::unique_ptr<admin::AdminServer> bind_admin(Server::Impl& s, const config::Config& config,
                                               std::string& token);

// What a reload changes in the admin listener and the access log, prepared (bound, opened,
// read) before anything is switched, so that what cannot be applied refuses the reload.
struct SideChanges {
    bool admin_changed = false;                // rebind (or remove) the listener
    std::unique_ptr<admin::AdminServer> admin; // the new listener; nullptr: none
    std::string admin_token;                   // the new listener's
    std::optional<std::string> token;          // a new token for the listener that stays
    bool log_changed = false;
    std::unique_ptr<proxy::AccessLog> log; // nullptr with log_changed: `access: off`
    unsigned log_slots = 0;
};
// `slots`: the worker indices the log must have room for. Throws config::ConfigError.
SideChanges prepare_side_changes(Server::Impl& s, const config::Config& running,
                                 const config::Config& next, unsigned slots);
// Server thread, after the new generation runs: starts the new admin listener (the old one
// stops accepting; its requests in flight finish) and swaps the access log in every worker
// (the old one ends once every worker has switched).
void apply_side_changes(Server::Impl& s, SideChanges& changes, std::ostream& out);
// Retired admin listeners that are idle end (not the caller's own); `all`: every one (stop).
void reap_retired_admins(Server::Impl& s, bool all);

} // namespace lacquer::server
