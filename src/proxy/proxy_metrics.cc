#include "lacquer/proxy/proxy_metrics.h"

#include "lacquer/cache/object_store.h"
#include "lacquer/net/connection_balancer.h"
#include "lacquer/origin/origin_fetch.h"

#include <cctype>

namespace lacquer::proxy {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// "FirstByteTimeout" -> "first_byte_timeout"
std::string snake(std::string_view camel) {
    std::string out;
    for (std::size_t i = 0; i < camel.size(); ++i) {
        if (i > 0 && std::isupper(static_cast<unsigned char>(camel[i]))) {
            out.push_back('_');
        }
        out.push_back(camel[i]);
    }
    return lower(out);
}

// The gauges and counters of one server's shared health (origin/server_health.h).
void declare_server_health(metrics::Registry& r, const origin::OriginPoolSpec& pool, std::size_t i,
                           const metrics::Labels& labels) {
    std::shared_ptr<origin::ServerHealth> health = pool.health->shared(i);
    std::shared_ptr<origin::PoolHealth> pool_health = pool.health;
    r.gauge("lacquer_origin_server_up",
            "1 when the server takes new requests; 0 when it is ejected, probed down, draining, "
            "disabled, or failing (consecutive_failures in a row).",
            labels, [pool_health, i] {
                return pool_health->usable(i, pool_health->clock().now()) ? 1.0 : 0.0;
            });
    r.gauge("lacquer_origin_in_flight", "Exchanges in flight with the server, all workers.", labels,
            [health] { return static_cast<double>(health->in_flight.load()); });
    r.counter_fn("lacquer_origin_ejections_total",
                 "Times the server was ejected by passive health (outlier detection).", labels,
                 [health] { return static_cast<double>(health->ejections.load()); });
    for (const bool ok : {true, false}) {
        metrics::Labels with_result = labels;
        with_result.emplace_back("result", ok ? "success" : "failure");
        r.counter_fn("lacquer_origin_probes_total", "Active health probes, by result.", with_result,
                     [health, ok] {
                         return static_cast<double>(ok ? health->probes_ok.load()
                                                       : health->probes_failed.load());
                     });
    }
}

// Retries by reason, the budget's refusals, and the admission limit's queue (origin/retry_policy.h,
// origin/admission.h). The gauges hold the pool's guard: a reload's new one takes their place.
void declare_retry_and_admission(metrics::Registry& r, const origin::OriginPoolSpec& pool,
                                 origin::OriginCounters& c) {
    const metrics::Labels labels{{"origin", pool.name}};
    for (std::size_t k = 0; k < origin::kRetryReasonCount; ++k) {
        const auto reason = static_cast<origin::RetryReason>(k);
        c.retries[k] = r.counter(
            "lacquer_origin_retries_total",
            "Origin exchanges tried again after a failure before any response byte, by reason.",
            {{"origin", pool.name}, {"reason", std::string(origin::retry_reason_name(reason))}});
    }
    c.retry_budget_exhausted =
        r.counter("lacquer_origin_retry_budget_exhausted_total",
                  "Retries not made because the pool's retry budget was spent.", labels);
    c.queue_wait = r.histogram("lacquer_origin_queue_wait_seconds",
                               "Time exchanges waited for an admission slot (max_in_flight) "
                               "before they were admitted.",
                               labels);
    if (!pool.guard) {
        return;
    }
    std::shared_ptr<origin::PoolGuard> guard = pool.guard;
    r.gauge("lacquer_origin_admitted",
            "Origin exchanges holding an admission slot now (0 without max_in_flight).", labels,
            [guard] { return static_cast<double>(guard->admission.in_flight()); });
    r.gauge("lacquer_origin_queue_length", "Origin exchanges waiting for an admission slot now.",
            labels, [guard] { return static_cast<double>(guard->admission.queued()); });
}

// What a route's requests can end as: one that does not cache (pass, reject, and "-") only
// passes, synthesises or fails; one that caches can end in any state (its other methods pass).
bool possible_on_route(CacheStatus status, bool caches) {
    return caches || status == CacheStatus::Pass || status == CacheStatus::Synth ||
           status == CacheStatus::Error;
}

} // namespace

std::unique_ptr<ProxyMetrics>
declare_proxy_metrics(metrics::Registry& r, const RouteTable& routes,
                      const std::vector<origin::OriginPoolSpec>& pools, const MetricSources& src) {
    auto m = std::make_unique<ProxyMetrics>();
    r.gauge("lacquer_build_info", "Build information (always 1).", {{"version", src.version}},
            [] { return 1.0; });
    const unsigned workers = src.workers;
    r.gauge("lacquer_workers", "Worker threads (event loops).", {},
            [workers] { return static_cast<double>(workers); });
    const std::atomic<bool>* ready = src.ready;
    r.gauge("lacquer_ready", "1 when lacquerd serves: config loaded, listeners up.", {},
            [ready] { return ready->load() ? 1.0 : 0.0; });

    // Every route, then the default route, then "-" (refused before routing); whether it caches.
    std::vector<std::pair<std::string, bool>> route_names;
    for (const Route& route : routes.routes()) {
        route_names.emplace_back(route.name, route.cache != nullptr);
    }
    route_names.emplace_back(routes.default_route().name, routes.default_route().cache != nullptr);
    route_names.emplace_back("-", false);
    for (const auto& [route, caches] : route_names) {
        std::array<std::uint32_t, kCacheStatusCount> counts{};
        std::array<metrics::HistogramSlots, kCacheStatusCount> durations{};
        for (std::size_t s = 0; s < kCacheStatusCount; ++s) {
            const auto status = static_cast<CacheStatus>(s);
            const metrics::Labels labels{{"route", route},
                                         {"cache_status", std::string(cache_status_name(status))}};
            counts[s] = r.counter("lacquer_requests_total",
                                  "Client requests answered, by route and cache status.", labels);
            durations[s] = possible_on_route(status, caches)
                               ? r.histogram("lacquer_request_duration_seconds",
                                             "Time from a complete request head to the answer's "
                                             "end being queued, by route and cache status.",
                                             labels)
                               : metrics::HistogramSlots{metrics::kNoSlot};
        }
        m->requests.push_back(counts);
        m->durations.push_back(durations);
        std::array<std::uint32_t, 5> classes{};
        for (std::size_t k = 0; k < classes.size(); ++k) {
            classes[k] = r.counter("lacquer_responses_total",
                                   "Responses to clients, by route and status class (every "
                                   "answer: hits, misses, pass, errors, refusals).",
                                   {{"route", route}, {"code", std::to_string(k + 1) + "xx"}});
        }
        m->responses.push_back(classes);
        if (route == "-") {
            m->usage.emplace_back();
            continue;
        }
        m->usage.push_back(r.route_usage(route));
        const double cache_value = caches ? 1.0 : 0.0;
        r.gauge("lacquer_route_caches",
                "1 when the route caches, 0 when it passes or rejects (hit ratios count only the "
                "routes that cache).",
                {{"route", route}}, [cache_value] { return cache_value; });
    }

    for (const origin::OriginPoolSpec& pool : pools) {
        auto c = std::make_unique<origin::OriginCounters>();
        for (std::size_t i = 0; i < pool.servers.size(); ++i) {
            const std::string& server = pool.servers[i].name;
            const metrics::Labels labels{{"origin", pool.name}, {"server", server}};
            c->requests.push_back(r.counter("lacquer_origin_requests_total",
                                            "Requests sent to origin servers.", labels));
            std::array<std::uint32_t, 5> classes{};
            for (std::size_t k = 0; k < 5; ++k) {
                metrics::Labels with_class = labels;
                with_class.emplace_back("status_class", std::to_string(k + 1) + "xx");
                classes[k] =
                    r.counter("lacquer_origin_responses_total",
                              "Responses from origin servers, by status class.", with_class);
            }
            c->responses.push_back(classes);
            c->duration.push_back(r.histogram("lacquer_origin_fetch_duration_seconds",
                                              "Origin exchanges from start to the end of the body.",
                                              labels));
            declare_server_health(r, pool, i, labels);
        }
        for (std::size_t i = 0; i <= pool.servers.size(); ++i) {
            const std::string server = i < pool.servers.size() ? pool.servers[i].name : "-";
            std::vector<std::uint32_t> faults;
            for (std::size_t f = 0; f < origin::kFetchFaultCount; ++f) {
                const auto fault = static_cast<origin::FetchFault>(f);
                faults.push_back(
                    fault == origin::FetchFault::None
                        ? 0
                        : r.counter("lacquer_origin_errors_total",
                                    "Failed origin exchanges, by server and kind (server \"-\": "
                                    "none could be used).",
                                    {{"origin", pool.name},
                                     {"server", server},
                                     {"kind", snake(origin::fetch_fault_name(fault))}}));
            }
            c->errors.push_back(std::move(faults));
        }
        declare_retry_and_admission(r, pool, *c);
        m->origins.push_back(std::move(c));
    }

    m->coalesced_waits = r.counter("lacquer_coalesced_waits_total",
                                   "Misses that waited for another request's origin fetch.");
    m->fetches_avoided = r.counter("lacquer_origin_fetches_avoided_total",
                                   "Waiting misses answered with the object another fetch stored.");
    m->wait_timeouts = r.counter("lacquer_coalesce_wait_timeouts_total",
                                 "Waits given up after their bound; the request fetched alone.");
    m->background_refreshes = r.counter("lacquer_background_refreshes_total",
                                        "Background refreshes started for stale objects.");
    m->hit_for_miss = r.counter("lacquer_hit_for_miss_total",
                                "Misses sent to the origin uncoalesced: the key was uncacheable.");
    m->stale_while_refresh =
        r.counter("lacquer_stale_served_total", "Stale objects served, by reason.",
                  {{"reason", "while_refresh"}});
    m->stale_origin_error =
        r.counter("lacquer_stale_served_total", "Stale objects served, by reason.",
                  {{"reason", "origin_error"}});

    const cache::ObjectStore* store = src.store;
    r.gauge("lacquer_store_objects", "Objects in the cache.", {},
            [store] { return static_cast<double>(store->stats().objects); });
    r.gauge("lacquer_store_bytes", "Bytes the cache holds, bookkeeping included.", {},
            [store] { return static_cast<double>(store->stats().bytes); });
    r.gauge("lacquer_store_budget_bytes", "storage.memory.", {},
            [store] { return static_cast<double>(store->budget()); });
    r.counter_fn("lacquer_store_evictions_total", "Objects evicted to stay within the budget.", {},
                 [store] { return static_cast<double>(store->stats().evictions); });
    for (std::size_t v = 0; v <= static_cast<std::size_t>(cache::StoreVerdict::Incomplete); ++v) {
        const auto verdict = static_cast<cache::StoreVerdict>(v);
        m->not_stored.push_back(
            verdict == cache::StoreVerdict::Stored
                ? 0
                : r.counter("lacquer_not_stored_total",
                            "Origin answers to cacheable requests that were not stored, by reason.",
                            {{"reason", std::string(cache::store_verdict_name(verdict))}}));
    }

    const std::atomic<std::uint32_t>* open = src.open_connections;
    r.gauge("lacquer_connections_open", "Client connections open now.", {},
            [open] { return static_cast<double>(open->load(std::memory_order_relaxed)); });
    m->connections_accepted =
        r.counter("lacquer_connections_accepted_total", "Client connections accepted.");
    m->connections_refused = r.counter("lacquer_connections_refused_total",
                                       "Client connections refused at limits.max_connections.");
    m->connections_moved =
        r.counter("lacquer_connections_moved_total",
                  "Client connections a worker handed to a less loaded one (balance: exact).");
    if (const net::ConnectionBalancer* balancer = src.balancer) {
        for (unsigned w = 0; w < src.workers; ++w) {
            r.gauge("lacquer_worker_connections", "Client connections each worker serves now.",
                    {{"worker", std::to_string(w)}},
                    [balancer, w] { return static_cast<double>(balancer->connections(w)); });
        }
        r.gauge("lacquer_workers_taking_connections",
                "Workers that take new client connections now (workers: auto gives them to as "
                "many as the load needs and the CPUs allow).",
                {}, [balancer] { return static_cast<double>(balancer->active()); });
        r.counter_fn("lacquer_connections_shed_total",
                     "Client connections closed after an answer so that their clients reconnect "
                     "to the workers taking connections (workers: auto).",
                     {}, [balancer] { return static_cast<double>(balancer->shed_connections()); });
    }
    m->received_bytes = r.counter("lacquer_client_received_bytes_total",
                                  "Request bytes read from clients (heads and bodies).");
    m->sent_bytes =
        r.counter("lacquer_client_sent_bytes_total", "Response body bytes queued to clients.");
    return m;
}

} // namespace lacquer::proxy
