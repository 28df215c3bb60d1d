#include "lacquer/origin/health_probe.h"

#include "lacquer/http/head_parser.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/worker.h"

#include <chrono>

namespace lacquer::origin {

namespace {

constexpr core::Millis kSweepEvery{100};
constexpr unsigned kSweepsPerErrorWindow = 50; // 5 s

// A probe connection being closed: disposed after the current callback, deaf until then.
struct ClosingConnection final : net::Disposable, net::ConnectionHandler {
    explicit ClosingConnection(std::unique_ptr<net::Connection> c) : conn(std::move(c)) {
        conn->set_handler(this);
        conn->set_reading(false);
    }
    void on_readable(net::Connection&) override {}
    void on_drained(net::Connection&) override {}
    void on_event(net::Connection&, net::ConnEvent) override {}
    std::unique_ptr<net::Connection> conn;
};

std::int64_t ticks(core::Instant t) {
    return t.time_since_epoch().count();
}

} // namespace

// One probed server: a timer for the next probe, one for the running probe's timeout.
class HealthProber::Probe final : private net::ConnectionHandler {
public:
    Probe(HealthProber& owner, const OriginPoolSpec& pool, std::size_t server,
          core::Millis first_after)
        : owner_(owner), pool_(pool.name), server_(pool.servers[server]), tls_(pool.tls),
          config_(*pool.probe), health_(pool.health->shared(server)),
          parser_(http::HeadKind::Response, http::HeadLimits{16 * 1024, 8 * 1024}),
          next_(owner.loop_, &Probe::on_next, this),
          timeout_(owner.loop_, &Probe::on_timeout, this) {
        const metrics::Labels labels{{"origin", pool_}, {"server", server_.name}};
        duration_ =
            owner.registry_.histogram("lacquer_origin_probe_duration_seconds",
                                      "Active health probes, from connect to answer.", labels);
        // The server's name as configured (not "name@address"); a hand-built spec has only `name`.
        const std::string host =
            server_.configured.host.empty() ? server_.name : server_.configured.text();
        request_ = "GET " + config_.path + " HTTP/1.1\r\nHost: " + host +
                   "\r\nUser-Agent: lacquer-health-probe\r\nConnection: close\r\n\r\n";
        next_.arm(first_after);
    }
    ~Probe() { close(); }
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    // The same server probed the same way: a reload keeps this probe running.
    bool same(const OriginPoolSpec& pool, std::size_t server) const {
        const config::HealthProbeConfig& c = *pool.probe;
        return pool_ == pool.name && server_.name == pool.servers[server].name &&
               server_.address.text() == pool.servers[server].address.text() &&
               c.path == config_.path && c.interval == config_.interval &&
               c.timeout == config_.timeout && c.unhealthy_after == config_.unhealthy_after &&
               c.healthy_after == config_.healthy_after && c.expect_status == config_.expect_status;
    }

private:
    static void on_next(void* arg) { static_cast<Probe*>(arg)->start(); }
    static void on_timeout(void* arg) { static_cast<Probe*>(arg)->finish(-1); }

    void start() {
        started_ = owner_.loop_.clock().now();
        running_ = true;
        timeout_.arm(config_.timeout);
        int error = 0;
        // Over TLS when the pool speaks it: the same handshake, verification and SNI as a fetch.
        conn_ = net::Connection::connect(owner_.loop_, server_.address, this, error,
                                         tls_ ? &server_.tls : nullptr);
        if (!conn_) {
            finish(-1);
            return;
        }
        parser_.reset();
        parser_.expect_response_to("GET");
        conn_->write(request_);
    }

    void on_readable(net::Connection& conn) override {
        while (conn_ && conn.input_size() > 0) {
            const std::string_view bytes = conn.peek();
            const auto fed = parser_.feed(bytes.data(), bytes.size());
            conn.drain(fed.consumed);
            if (fed.status == http::HeadParser::Status::Error) {
                finish(-1);
            } else if (fed.status == http::HeadParser::Status::Complete) {
                const int status = parser_.response().status;
                if (status >= 100 && status < 200) {
                    parser_.reset(); // interim: the final answer follows
                    parser_.expect_response_to("GET");
                    continue;
                }
                finish(status);
            }
        }
    }
    void on_drained(net::Connection&) override {}
    void on_event(net::Connection&, net::ConnEvent event) override {
        if (event == net::ConnEvent::Eof || event == net::ConnEvent::Error) {
            finish(-1);
        }
    }

    // `status`: the answer's, or -1 when none came (refused, reset, timeout, garbage).
    void finish(int status) {
        if (!running_) {
            return;
        }
        running_ = false;
        timeout_.cancel();
        close();
        const core::Instant now = owner_.loop_.clock().now();
        owner_.shard_.observe(duration_, now - started_);
        health_->last_probe_status.store(status, std::memory_order_relaxed);
        health_->last_probe_at.store(ticks(now), std::memory_order_relaxed);
        health_->record_probe(status == config_.expect_status, config_.unhealthy_after,
                              config_.healthy_after, now);
        // The next probe: the interval from this one's start, with up to 10% jitter either way.
        const auto interval = std::chrono::duration_cast<core::Millis>(config_.interval);
        const auto jitter = interval.count() / 10;
        std::uniform_int_distribution<std::int64_t> spread(-jitter, jitter);
        const auto elapsed = std::chrono::duration_cast<core::Millis>(now - started_);
        next_.arm(
            std::max(core::Millis(1), interval + core::Millis(spread(owner_.random_)) - elapsed));
    }

    void close() {
        if (conn_) {
            owner_.loop_.dispose(std::make_unique<ClosingConnection>(std::move(conn_)));
        }
    }

    HealthProber& owner_;
    std::string pool_;
    OriginServerSpec server_;
    std::shared_ptr<const net::TlsClientContext> tls_; // keeps server_.tls.context alive
    config::HealthProbeConfig config_;
    std::shared_ptr<ServerHealth> health_;
    http::HeadParser parser_;
    std::string request_;
    metrics::HistogramSlots duration_;
    net::Timer next_;
    net::Timer timeout_;
    std::unique_ptr<net::Connection> conn_;
    core::Instant started_{};
    bool running_ = false; // between start() and finish()
};

HealthProber::HealthProber(net::Worker& loop, metrics::Registry& registry, metrics::Shard& shard,
                           std::ostream& log)
    : loop_(loop), registry_(registry), shard_(shard), log_(log),
      random_(
          static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count())),
      sweep_timer_(loop, &HealthProber::on_sweep, this) {
    sweep_timer_.arm(kSweepEvery);
}

HealthProber::~HealthProber() = default;

void HealthProber::watch(const std::vector<OriginPoolSpec>& pools) {
    std::vector<std::unique_ptr<Probe>> kept;
    std::map<const ServerHealth*, Watched> watched;
    for (const OriginPoolSpec& pool : pools) {
        for (std::size_t i = 0; i < pool.servers.size(); ++i) {
            const std::shared_ptr<ServerHealth>& health = pool.health->shared(i);
            auto old = watched_.find(health.get());
            Watched w = old != watched_.end() ? old->second
                                              : Watched{health,
                                                        pool.name,
                                                        pool.servers[i].name,
                                                        ServerState::Healthy,
                                                        health->exchanges.load(),
                                                        health->failures.load()};
            watched.emplace(health.get(), std::move(w));
            if (!pool.probe) {
                health->forget_probe();
                continue;
            }
            std::unique_ptr<Probe> probe;
            for (auto& p : probes_) {
                if (p && p->same(pool, i)) {
                    probe = std::move(p);
                    break;
                }
            }
            if (!probe) { // the first probe somewhere in the first interval: spread the load
                const auto interval =
                    std::chrono::duration_cast<core::Millis>(pool.probe->interval);
                std::uniform_int_distribution<std::int64_t> first(0, interval.count());
                probe = std::make_unique<Probe>(*this, pool, i, core::Millis(first(random_)));
            }
            kept.push_back(std::move(probe));
        }
    }
    probes_.swap(kept); // the probes not kept end here (their connections are disposed)
    watched_.swap(watched);
}

void HealthProber::on_sweep(void* arg) {
    auto* self = static_cast<HealthProber*>(arg);
    self->sweep();
    self->sweep_timer_.arm(kSweepEvery);
}

void HealthProber::sweep() {
    const core::Instant now = loop_.clock().now();
    const bool window = ++sweeps_ % kSweepsPerErrorWindow == 0;
    for (auto& [key, w] : watched_) {
        const ServerHealth& h = *w.health;
        const ServerState state = h.state(now);
        if (state != w.logged) {
            std::string why;
            if (state == ServerState::Ejected) {
                const auto left = std::chrono::duration_cast<core::Millis>(h.ejected_until() - now);
                why = " for " + std::to_string(left.count()) + "ms (failures in a row)";
            } else if (state == ServerState::ProbedDown) {
                const int status = h.last_probe_status.load();
                why = status < 0 ? " (probe: no answer)"
                                 : " (probe: status " + std::to_string(status) + ")";
            }
            // One write per line: other threads log to the same stream.
            log_ << ("lacquerd: origin " + w.pool + " server " + w.server + " is " +
                     std::string(server_state_name(state)) + why + " (was " +
                     std::string(server_state_name(w.logged)) + ")\n")
                 << std::flush;
            w.logged = state;
        }
        if (window) {
            const std::uint64_t exchanges = h.exchanges.load();
            const std::uint64_t failures = h.failures.load();
            const std::uint64_t n = exchanges - w.exchanges;
            w.health->recent_error_permille.store(
                n == 0 ? 0 : static_cast<std::uint32_t>((failures - w.failures) * 1000 / n),
                std::memory_order_relaxed);
            w.exchanges = exchanges;
            w.failures = failures;
        }
    }
}

} // namespace lacquer::origin
