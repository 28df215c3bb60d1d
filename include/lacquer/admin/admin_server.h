#pragma once
// The admin listener (CONFIG.md `admin`): /metrics (Prometheus text), /healthz, /readyz, purge,
// ban and stats, on its own thread and event loop, so that a slow scraper or a long purge never
// touches a worker. One request per connection; answers are small and complete.

#include "lacquer/admin/admin_answer.h"
#include "lacquer/admin/config_control.h"
#include "lacquer/http/head.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/address.h"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::admin {

// What the purge, ban and stats requests do, implemented by the server (it knows the routes
// and the store). Each returns how many objects it removed.
struct CacheControl {
    // `soft`: the objects are marked stale instead of removed (served inside `stale` while one
    // request refreshes them).
    // Every variant of `url` (path and query as a client sends them); any host when empty.
    std::function<std::size_t(std::string_view url, std::string_view host, bool soft)> purge_url;
    std::function<std::size_t(std::string_view path_prefix, bool soft)> purge_prefix;
    // Objects whose route's tags_header named `tag`.
    std::function<std::size_t(std::string_view tag, bool soft)> purge_tag;
    // Objects whose URL (path?query as keyed) `regex` (RE2 syntax) matches. nullopt when it
    // does not compile, with the reason in `error`.
    std::function<std::optional<std::size_t>(std::string_view regex, std::string& error)> ban;
    std::function<std::size_t()> purge_all;
    std::function<std::string()> stats_json;
};

// The origin pools as the operator sees and steers them (origin/pool_report.h), implemented by
// the server on the running generation.
struct OriginControl {
    std::function<std::string(bool json)> list; // every server: state, in flight, errors, probe
    // `action`: drain | disable | enable. Returns the HTTP status and a one-line `message`.
    std::function<int(std::string_view pool, std::string_view server, std::string_view action,
                      std::string& message)>
        set_mode;
};

// What the operator watches and inspects (GET /log, GET /debug/object), implemented by the
// server on the workers' transaction log and on the store.
struct ObservationControl {
    // The live transaction log filtered by `query` (proxy/transaction_filter.h); nullptr with
    // `error` set when the query is bad.
    std::function<std::shared_ptr<AdminStream>(std::string_view query, std::string& error)>
        watch_log;
    // What the cache holds for `url` ("/path?query") on `host` (empty: the default host), as
    // JSON (or text); 404 when no cache route takes the URL.
    std::function<AdminAnswer(std::string_view url, std::string_view host, bool json)> inspect;
};

struct AdminState {
    const metrics::Registry* registry = nullptr;
    std::vector<const metrics::Shard*> shards; // one per worker
    const std::atomic<bool>* ready = nullptr;  // listeners up and workers running
    // Some pool that a route uses has a server that takes requests (healthy, not drained).
    std::function<bool()> origin_up;
    CacheControl cache;
    OriginControl origins;
    std::string token;    // admin.token_file's content; empty: no token asked
    ConfigControl config; // POST /reload, GET /config
    // The workers' clock: route usage windows are dated with it. nullptr: the system clock.
    const core::Clock* clock = nullptr;
    ObservationControl observe;
};

class AdminServer {
public:
    // Binds `address` now (port 0 picks one); throws std::runtime_error when it cannot.
    AdminServer(const net::SocketAddress& address, AdminState state);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    void start();
    // Stops accepting, then waits for the requests in flight and ends the thread.
    void stop();
    // A reload replaced this listener (any thread): it stops accepting now; the requests in
    // flight finish. stop() later, from another thread, once idle().
    void stop_listening();
    bool idle() const;          // no request in flight (any thread)
    bool on_own_thread() const; // the caller is this server's loop (stop() would wait on itself)
    // A reload changed them (any thread): applied on the admin thread before the next request.
    void set_token(std::string token);
    void set_shards(std::vector<const metrics::Shard*> shards);
    const net::SocketAddress& address() const { return address_; }

    // The answer to one request (tests and the listener share it): admin::answer() on this
    // server's state.
    using Answer = AdminAnswer;
    Answer answer(const http::RequestHead& request) const { return admin::answer(request, state_); }

private:
    struct Impl;
    net::SocketAddress address_;
    AdminState state_;
    std::unique_ptr<Impl> impl_;
};

} // namespace lacquer::admin
