// The admin listener and the access log of a running server: built at start, rebound, reopened
// or swapped on reload (server_impl.h).
#include "cache_control.h"
#include "lacquer/config/load.h"
#include "lacquer/config/write_config.h"
#include "lacquer/origin/pool_report.h"
#include "observation.h"
#include "server_impl.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>

namespace lacquer::server {

namespace {

// How long the swap of the access log waits for every worker to take the new one.
constexpr auto kSwapTime = std::chrono::seconds(5);

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

// POST /reload and GET /config.
void wire_config_control(admin::AdminState& state, Server::Impl* impl) {
    state.config.effective = [impl] {
        return config::write_config_yaml(running_generation(*impl)->config);
    };
    if (impl->config_path.empty() || impl->server == nullptr) {
        return; // nothing to reload from (in-process servers built from a string)
    }
    state.config.reload = [impl] {
        const Server::ReloadOutcome r = impl->server->reload_config(std::cout, std::cerr);
        admin::ReloadReply reply;
        reply.applied = r.applied;
        reply.text = r.applied ? "applied generation " + std::to_string(r.generation)
                               : "refused: " + r.message;
        return reply;
    };
}

// Every worker, running or retiring, runs `task(context)` on its thread; true when all did
// within kSwapTime.
bool on_every_worker(Server::Impl& s, const std::function<void(proxy::WorkerContext&)>& task) {
    auto done = std::make_shared<std::atomic<std::size_t>>(0);
    std::size_t posted = 0;
    const auto post_to = [&](WorkerSlot& slot) {
        proxy::WorkerContext* ctx = slot.context.get();
        slot.worker->post([ctx, task, done] {
            task(*ctx);
            done->fetch_add(1);
        });
        ++posted;
    };
    for (const auto& slot : s.slots) {
        post_to(*slot);
    }
    // A retiring worker's reaper resets its context once the loop has stopped: read it only
    // while the reaper has not begun to stop it (server_impl.h, RetiringWorker).
    for (const auto& r : s.retiring) {
        const std::lock_guard<std::mutex> lock(r->stopping_mutex);
        if (!r->stopping) {
            post_to(*r->slot);
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + kSwapTime;
    while (done->load() < posted && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done->load() == posted;
}

} // namespace

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

std::unique_ptr<admin::AdminServer> bind_admin(Server::Impl& s, const config::Config& c,
                                               std::string& token) {
    std::string error;
    auto address = net::resolve(c.admin.address.host, c.admin.address.port, error);
    if (!address) {
        throw config::ConfigError(c.admin.mark, "cannot resolve admin address '" +
                                                    c.admin.address.text() + "': " + error);
    }
    admin::AdminState state;
    state.registry = &s.registry;
    state.shards = all_shards(s);
    state.ready = &s.ready;
    Server::Impl* impl = &s;
    state.cache = make_cache_control(
        [impl]() -> std::shared_ptr<const proxy::RouteTable> {
            std::lock_guard<std::mutex> lock(impl->generation_mutex);
            return {impl->generation, impl->generation->routes.get()};
        },
        *s.store, s.clock, static_cast<std::size_t>(c.limits.max_uri_bytes));
    state.token = read_admin_token(c.admin);
    state.clock = &s.clock;
    wire_origin_control(state, impl);
    wire_config_control(state, impl);
    state.observe = make_observation_control(
        *s.transactions,
        [impl]() -> std::shared_ptr<const proxy::RouteTable> {
            std::lock_guard<std::mutex> lock(impl->generation_mutex);
            return {impl->generation, impl->generation->routes.get()};
        },
        *s.store, *s.coalescer, s.clock, static_cast<std::size_t>(c.limits.max_uri_bytes));
    token = state.token;
    return std::make_unique<admin::AdminServer>(*address, std::move(state));
}

SideChanges prepare_side_changes(Server::Impl& s, const config::Config& running,
                                 const config::Config& next, unsigned slots) {
    SideChanges out;
    const config::AdminConfig& a = running.admin;
    const config::AdminConfig& b = next.admin;
    const bool same_address = a.address.text() == b.address.text();
    if (a.present != b.present || !same_address) {
        out.admin_changed = true;
        // A new address binds beside the old one (the old stops accepting once the new runs).
        // Binding the same address anew would fail: only its token can change in place.
        try {
            out.admin = b.present ? bind_admin(s, next, out.admin_token) : nullptr;
        } catch (const config::ConfigError&) {
            throw;
        } catch (const std::runtime_error& e) { // the address cannot be bound: at its setting
            throw config::ConfigError(b.mark, e.what());
        }
    } else if (b.present && a.token_file != b.token_file) {
        out.token = read_admin_token(b);
    } else if (b.present && !b.token_file.empty()) {
        std::string token = read_admin_token(b); // the file may have a new token
        if (token != s.admin_token()) {
            out.token = std::move(token);
        }
    }
    const config::LogConfig& la = running.log;
    const config::LogConfig& lb = next.log;
    if (la.access != lb.access || la.access_path != lb.access_path || la.format != lb.format ||
        la.fields != lb.fields || slots > s.log_slots) {
        out.log_changed = true;
        out.log_slots = std::max(slots, s.log_slots);
        try {
            out.log = proxy::AccessLog::open(lb, out.log_slots);
        } catch (const std::exception& e) {
            config::SourceMark mark;
            mark.file = next.file;
            mark.line = 1;
            mark.column = 1;
            throw config::ConfigError(mark, std::string("log: ") + e.what());
        }
    }
    return out;
}

void apply_side_changes(Server::Impl& s, SideChanges& c, std::ostream& out) {
    if (c.token && s.admin) {
        s.admin_tokens.push_back(std::make_unique<const std::string>(*c.token));
        s.admin->set_token(*c.token);
    }
    if (c.admin_changed) {
        if (s.admin) {
            s.admin->stop_listening(); // its requests in flight (this reload's own) finish
            s.retired_admins.push_back(std::move(s.admin));
        }
        s.admin = std::move(c.admin);
        if (c.admin_token != s.admin_token()) {
            s.admin_tokens.push_back(std::make_unique<const std::string>(c.admin_token));
        }
        if (s.admin) {
            s.admin->set_shards(all_shards(s));
            s.admin->start();
            out << ("admin listening on " + s.admin->address().text() + "\n") << std::flush;
        }
    }
    if (c.admin_changed || c.token) {
        const std::string_view token = s.admin_token();
        on_every_worker(s, [token](proxy::WorkerContext& ctx) { ctx.admin_token = token; });
    }
    if (c.log_changed) {
        std::unique_ptr<proxy::AccessLog> old;
        {
            std::lock_guard<std::mutex> lock(s.log_mutex);
            old = std::move(s.access_log);
            s.access_log = std::move(c.log);
            s.log_slots = c.log_slots;
        }
        proxy::AccessLog* now = s.access_log.get();
        const bool all =
            on_every_worker(s, [now](proxy::WorkerContext& ctx) { ctx.access_log = now; });
        if (old) {
            old->flush(); // the lines written before the swap
            if (!all) {   // a worker did not answer: it may still write there; ends at stop()
                s.retired_logs.push_back(std::move(old));
            }
        } // else: it ends here and closes its file
    }
}

void reap_retired_admins(Server::Impl& s, bool all) {
    auto& retired = s.retired_admins;
    for (auto it = retired.begin(); it != retired.end();) {
        if ((all || (*it)->idle()) && !(*it)->on_own_thread()) {
            (*it)->stop();
            it = retired.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace lacquer::server
