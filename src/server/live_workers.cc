// Adding and removing worker threads on reload (server_impl.h). A removed worker hands its TCP
// sockets to the workers that stay (a duplicate descriptor: the socket never stops listening, so
// nothing in its backlog is refused), lets its connections finish, and its thread ends when it
// is idle or at the drain timeout. A new worker gets its own event loop and, per TCP listen
// address, first a socket the workers that stay adopted that way (taken back), else a new
// SO_REUSEPORT socket: a group never has more sockets than the most workers there ever were,
// however often `workers` goes down and up. A Unix listener is one socket that every worker
// accepts on: a new worker gets a duplicate, a removed one just closes its own. Its metrics shard
// stays in the totals; a later worker reuses its index (shard and access log buffer) once it has
// ended.
#include "lacquer/proxy/client_session.h"
#include "server_impl.h"

#include <algorithm>
#include <chrono>
#include <unistd.h>

namespace lacquer::server {

namespace {

// How long the server thread waits for a removed worker to hand its sockets over.
constexpr auto kHandOverTime = std::chrono::seconds(5);
constexpr auto kIdlePoll = std::chrono::milliseconds(10);

// WorkerPlan::extra_fds markers: the new worker's socket comes from the workers that stay, when
// it starts (the listener's index in the next config is only theirs once they switched).
constexpr int kTakeBack = -2;  // a TCP socket one of them adopted
constexpr int kShareUnix = -3; // a duplicate of the Unix socket they accept on

// A socket a removed worker hands over, under its listener's running index.
struct HandedSocket {
    std::size_t index = 0;
    int fd = -1;
    bool was_adopted = false; // adopted by the removed worker itself (already counted)
};
struct HandOver {
    std::mutex mutex;
    std::vector<HandedSocket> sockets; // guarded by mutex
    std::atomic<unsigned> done{0};
};

// What the new workers of a grown set ask of the workers that stay, per next listener j.
struct TakeBack {
    std::mutex mutex;
    std::vector<unsigned> adopted_wanted;  // TCP: adopted sockets still to hand back
    std::vector<unsigned> unix_wanted;     // Unix: duplicates (worker 0 makes them)
    std::vector<std::vector<int>> sockets; // what came back; guarded by mutex
    std::atomic<unsigned> done{0};
};

// On a staying worker's thread, after its switch to the next config: hands back the adopted
// sockets still wanted and, on worker 0, duplicates its Unix sockets.
void give_back(WorkerSlot& slot, TakeBack& t, bool first) {
    std::lock_guard<std::mutex> lock(t.mutex);
    for (auto it = slot.adopted.begin(); it != slot.adopted.end();) {
        const std::size_t j = (*it)->index();
        if (j < t.adopted_wanted.size() && t.adopted_wanted[j] > 0) {
            const int fd = (*it)->hand_over(); // stops accepting here; the socket listens on
            if (fd >= 0) {
                --t.adopted_wanted[j];
                t.sockets[j].push_back(fd);
                it = slot.adopted.erase(it);
                continue;
            }
            (*it)->resume(); // no descriptor left: it stays here
        }
        ++it;
    }
    for (std::size_t j = 0; first && j < t.unix_wanted.size(); ++j) {
        for (; t.unix_wanted[j] > 0 && j < slot.listeners.size() && slot.listeners[j];
             --t.unix_wanted[j]) {
            const int fd = slot.listeners[j]->duplicate();
            if (fd < 0) {
                break;
            }
            t.sockets[j].push_back(fd);
        }
    }
}

// Sockets for the new workers' kTakeBack and kShareUnix markers, from the workers that stay
// (each has switched to the next config before its task runs: tasks run in order).
void take_back(Server::Impl& s, const WorkerPlan& plan, std::vector<std::vector<int>>& out) {
    auto t = std::make_shared<TakeBack>();
    t->adopted_wanted.assign(s.listeners.size(), 0);
    t->unix_wanted.assign(s.listeners.size(), 0);
    t->sockets.resize(s.listeners.size());
    bool any = false;
    for (const std::vector<int>& fds : plan.extra_fds) {
        for (std::size_t j = 0; j < fds.size(); ++j) {
            t->adopted_wanted[j] += fds[j] == kTakeBack ? 1 : 0;
            t->unix_wanted[j] += fds[j] == kShareUnix ? 1 : 0;
            any = any || fds[j] == kTakeBack || fds[j] == kShareUnix;
        }
    }
    const unsigned staying = std::min(plan.from, plan.to);
    if (!any || staying == 0) {
        out = std::move(t->sockets);
        return;
    }
    for (unsigned w = 0; w < staying; ++w) {
        WorkerSlot* slot = s.slots[w].get();
        slot->worker->post([slot, t, first = w == 0] {
            give_back(*slot, *t, first);
            t->done.fetch_add(1);
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + kHandOverTime;
    while (t->done.load() < staying && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard<std::mutex> lock(t->mutex); // a late task finds nothing more wanted
    std::fill(t->adopted_wanted.begin(), t->adopted_wanted.end(), 0U);
    std::fill(t->unix_wanted.begin(), t->unix_wanted.end(), 0U);
    out = std::move(t->sockets);
    t->sockets.assign(s.listeners.size(), {});
}

// The reaper of one removed worker: waits for it to be idle (no client connection, no cache
// fill) within `within`, then stops it and ends what it holds, as Server::stop() does.
void retire(RetiringWorker& r, const std::atomic<bool>& hurry, core::Millis within) {
    WorkerSlot& slot = *r.slot;
    const auto deadline = std::chrono::steady_clock::now() + within;
    auto idle = std::make_shared<std::atomic<bool>>(false);
    while (!hurry.load() && std::chrono::steady_clock::now() < deadline) {
        proxy::WorkerContext* ctx = slot.context.get();
        slot.worker->post(
            [ctx, idle] { idle->store(ctx->live_sessions == 0 && ctx->fills == nullptr); });
        std::this_thread::sleep_for(kIdlePoll);
        if (idle->load()) {
            break;
        }
    }
    {
        const std::lock_guard<std::mutex> lock(r.stopping_mutex);
        r.stopping = true;
    }
    slot.worker->stop();
    slot.worker->join();
    slot.listeners.clear();
    slot.adopted.clear();
    proxy::close_all_sessions(*slot.context); // those still open at the drain timeout are cut
    slot.worker->destroy_disposed();
    slot.context.reset();
    slot.worker->destroy_disposed();
    r.done = true;
}

} // namespace

unsigned take_worker_index(Server::Impl& s) {
    unsigned index = 0;
    while (index < s.index_used.size() && s.index_used[index]) {
        ++index;
    }
    if (index == s.index_used.size()) {
        s.index_used.push_back(false);
    }
    s.index_used[index] = true;
    if (s.transactions) {
        s.transactions->set_workers(index + 1); // its ring, at the reader's next drain
    }
    while (s.shards.size() <= index) {
        s.shards.push_back(std::make_unique<metrics::Shard>(s.registry.capacity()));
    }
    return index;
}

std::unique_ptr<WorkerSlot> make_worker_slot(Server::Impl& s, unsigned index,
                                             const std::shared_ptr<const proxy::Generation>& g) {
    auto slot = std::make_unique<WorkerSlot>();
    slot->worker = std::make_unique<net::Worker>(index, s.clock);
    slot->context = std::make_unique<proxy::WorkerContext>(*slot->worker, s.open_connections);
    proxy::WorkerContext& ctx = *slot->context;
    ctx.access_log = s.access_log.get();
    ctx.store = s.store.get();
    ctx.coalescer = s.coalescer.get();
    ctx.shard = s.shards[index].get();
    ctx.admin_token = s.admin_token();
    ctx.transactions = s.transactions.get();
    ctx.transactions_watched = &s.transactions->watching_flag();
    ctx.switch_to(
        std::make_unique<proxy::WorkerGeneration>(*slot->worker, g, s.workers, ctx.shard));
    ctx.balancer = &s.balancer;
    ctx.balance_load = s.balancer.load(index);
    s.balancer.join(index, *slot->worker, handed_connections(slot->context.get()));
    return slot;
}

std::vector<const metrics::Shard*> all_shards(const Server::Impl& s) {
    std::vector<const metrics::Shard*> out;
    for (const auto& shard : s.shards) {
        out.push_back(shard.get());
    }
    if (s.probe_shard) {
        out.push_back(s.probe_shard.get());
    }
    return out;
}

WorkerPlan plan_workers(const Server::Impl& s, unsigned to,
                        const std::vector<BoundListener>& next_listeners,
                        const std::vector<int>& kept) {
    WorkerPlan plan;
    plan.from = static_cast<unsigned>(s.slots.size());
    plan.to = to;
    std::vector<unsigned> taken(next_listeners.size(), 0);
    for (unsigned p = plan.from; p < to; ++p) {
        std::vector<int> fds;
        for (std::size_t j = 0; j < next_listeners.size(); ++j) {
            const BoundListener& l = next_listeners[j];
            int fd = -1;
            if (kept[j] >= 0 && l.unix_socket) {
                fd = kShareUnix;
            } else if (kept[j] >= 0 && taken[j] < l.adopted) {
                fd = kTakeBack; // the group has a socket more than workers: it comes back
                ++taken[j];
            } else if (kept[j] >= 0) { // kept: one more socket in its group
                std::string error;
                fd = net::open_listening_socket(l.address, error, true);
                if (fd < 0) {
                    plan.extra_fds.push_back(std::move(fds));
                    close_plan(plan);
                    throw std::runtime_error("cannot listen on " + l.address.text() +
                                             " for a new worker: " + error);
                }
            }
            fds.push_back(fd);
        }
        plan.extra_fds.push_back(std::move(fds));
    }
    return plan;
}

void close_plan(WorkerPlan& plan) {
    for (std::vector<int>& fds : plan.extra_fds) {
        for (int& fd : fds) {
            if (fd >= 0) { // not the markers: nothing was taken for them yet
                ::close(fd);
                fd = -1;
            }
        }
    }
}

void apply_worker_plan(Server::Impl& s, WorkerPlan& plan,
                       const std::shared_ptr<const proxy::Generation>& next,
                       const std::vector<int>& kept) {
    // Removed workers: the last ones. Each hands its sockets over, then drains.
    auto hand_over = std::make_shared<HandOver>();
    const unsigned removed = plan.from > plan.to ? plan.from - plan.to : 0;
    for (unsigned p = plan.to; p < plan.from; ++p) {
        WorkerSlot* slot = s.slots[p].get();
        s.balancer.leave(slot->worker->index()); // what was handed to it runs before the drain
        slot->worker->post([slot, hand_over] {
            std::vector<HandedSocket> mine;
            for (std::size_t i = 0; i < slot->listeners.size(); ++i) {
                if (slot->listeners[i]) {
                    mine.push_back({i, slot->listeners[i]->hand_over(), false});
                }
            }
            for (const auto& l : slot->adopted) {
                mine.push_back({l->index(), l->hand_over(), true});
            }
            slot->listeners.clear();
            slot->adopted.clear();
            proxy::drain_sessions(*slot->context, true);
            {
                std::lock_guard<std::mutex> lock(hand_over->mutex);
                hand_over->sockets.insert(hand_over->sockets.end(), mine.begin(), mine.end());
            }
            hand_over->done.fetch_add(1);
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + kHandOverTime;
    while (hand_over->done.load() < removed && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    {
        // The sockets go round the workers that stay, under the next config's index; those of
        // listen addresses the next config drops close.
        // A Unix socket needs no hand-over: the workers that stay accept on it already.
        // s.listeners[j].adopted counts what the workers that stay hold beyond one each.
        std::lock_guard<std::mutex> lock(hand_over->mutex);
        std::size_t turn = 0;
        for (const HandedSocket& handed : hand_over->sockets) {
            const int fd = handed.fd; // a copy the task below can capture
            const auto found = std::find(kept.begin(), kept.end(), static_cast<int>(handed.index));
            const auto j = static_cast<std::size_t>(found - kept.begin());
            const bool tcp_kept = found != kept.end() && !s.listeners[j].unix_socket;
            if (tcp_kept && handed.was_adopted && s.listeners[j].adopted > 0) {
                --s.listeners[j].adopted; // counted again below if it is adopted again
            }
            if (fd < 0) {
                continue;
            }
            if (!tcp_kept || plan.to == 0) {
                ::close(fd);
                continue;
            }
            ++s.listeners[j].adopted;
            WorkerSlot* to = s.slots[turn++ % plan.to].get();
            to->worker->post([to, fd, j] {
                to->adopted.push_back(client_listener(*to->worker, fd, to->context.get(), j));
            });
        }
        hand_over->sockets.clear();
    }
    const core::Millis within = next->config.limits.drain_timeout;
    for (unsigned p = plan.to; p < plan.from; ++p) {
        auto r = std::make_unique<RetiringWorker>();
        r->slot = std::move(s.slots[p]);
        RetiringWorker* rp = r.get();
        r->reaper = std::thread([rp, &hurry = s.hurry, within] { retire(*rp, hurry, within); });
        s.retiring.push_back(std::move(r));
    }
    s.slots.resize(std::min(plan.from, plan.to));
    // New workers: on `next` from their first request, listening on every address.
    std::vector<std::vector<int>> given; // [j]: sockets the workers that stay gave back
    if (plan.to > plan.from) {
        take_back(s, plan, given);
    }
    for (unsigned p = plan.from; p < plan.to; ++p) {
        const unsigned index = take_worker_index(s);
        std::unique_ptr<WorkerSlot> slot = make_worker_slot(s, index, next);
        for (std::size_t j = 0; j < s.listeners.size(); ++j) {
            BoundListener& l = s.listeners[j];
            int& fd = kept[j] >= 0 ? plan.extra_fds[p - plan.from][j] : l.fds[p];
            if (fd == kTakeBack || fd == kShareUnix) {
                fd = given[j].empty() ? -1 : given[j].back();
                if (!given[j].empty()) {
                    given[j].pop_back();
                }
                if (fd >= 0 && !l.unix_socket && l.adopted > 0) {
                    --l.adopted;
                }
            }
            if (fd < 0 && kept[j] >= 0 && !l.unix_socket) {
                std::string error; // the adopted socket did not come back: a new one
                fd = net::open_listening_socket(l.address, error, true);
            }
            slot->listeners.push_back(
                fd >= 0 ? client_listener(*slot->worker, fd, slot->context.get(), j) : nullptr);
            fd = -1; // the listener owns it now
        }
        slot->worker->start(nullptr);
        s.slots.push_back(std::move(slot));
    }
    for (std::size_t j = 0; j < given.size(); ++j) {
        for (const int fd : given[j]) { // more came back than asked for: adopted again
            if (s.listeners[j].unix_socket) {
                ::close(fd);
                continue;
            }
            ++s.listeners[j].adopted;
            WorkerSlot* to = s.slots.front().get();
            to->worker->post([to, fd, j] {
                to->adopted.push_back(client_listener(*to->worker, fd, to->context.get(), j));
            });
        }
    }
    if (s.admin) {
        s.admin->set_shards(all_shards(s));
    }
}

void reap_retired_workers(Server::Impl& s, bool all) {
    if (all) {
        s.hurry = true;
    }
    for (auto it = s.retiring.begin(); it != s.retiring.end();) {
        RetiringWorker& r = **it;
        if (all) {
            if (r.reaper.joinable()) {
                r.reaper.join(); // the worker objects stay: Server::stop() ends them last
            }
            ++it;
        } else if (r.done) {
            r.reaper.join();
            s.index_used[r.slot->worker->index()] = false;
            it = s.retiring.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace lacquer::server
