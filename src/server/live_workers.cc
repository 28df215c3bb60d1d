// Adding and removing worker threads on reload (server_impl.h). A new worker gets its own event
// loop and its own SO_REUSEPORT socket per listen address. A removed worker hands its sockets to
// the workers that stay (a duplicate descriptor: the socket never stops listening, so nothing
// in its backlog is refused), lets its connections finish, and its thread ends when it is idle
// or at the drain timeout. Its metrics shard stays in the totals; a later worker reuses its index
// (shard and access log buffer) once it has ended.
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

// What a removed worker hands over: (its listener's config index, a socket) pairs.
struct HandOver {
    std::mutex mutex;
    std::vector<std::pair<std::size_t, int>> sockets; // guarded by mutex
    std::atomic<unsigned> done{0};
};

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
    for (unsigned p = plan.from; p < to; ++p) {
        std::vector<int> fds;
        for (std::size_t j = 0; j < next_listeners.size(); ++j) {
            const BoundListener& l = next_listeners[j];
            int fd = -1;
            if (kept[j] >= 0 && !l.unix_socket) { // kept: one more socket in its group
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
            if (fd >= 0) {
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
        slot->worker->post([slot, hand_over] {
            std::vector<std::pair<std::size_t, int>> mine;
            for (std::size_t i = 0; i < slot->listeners.size(); ++i) {
                if (slot->listeners[i]) {
                    mine.emplace_back(i, slot->listeners[i]->hand_over());
                }
            }
            for (const auto& l : slot->adopted) {
                mine.emplace_back(l->index(), l->hand_over());
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
        std::lock_guard<std::mutex> lock(hand_over->mutex);
        std::size_t turn = 0;
        for (const auto& [running_index, socket] : hand_over->sockets) {
            const int fd = socket; // a copy the task below can capture
            const auto found = std::find(kept.begin(), kept.end(), static_cast<int>(running_index));
            if (fd < 0) {
                continue;
            }
            if (found == kept.end() || plan.to == 0) {
                ::close(fd);
                continue;
            }
            const auto j = static_cast<std::size_t>(found - kept.begin());
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
    for (unsigned p = plan.from; p < plan.to; ++p) {
        const unsigned index = take_worker_index(s);
        std::unique_ptr<WorkerSlot> slot = make_worker_slot(s, index, next);
        for (std::size_t j = 0; j < s.listeners.size(); ++j) {
            BoundListener& l = s.listeners[j];
            int& fd = kept[j] >= 0 ? plan.extra_fds[p - plan.from][j] : l.fds[p];
            slot->listeners.push_back(
                fd >= 0 ? client_listener(*slot->worker, fd, slot->context.get(), j) : nullptr);
            fd = -1; // the listener owns it now
        }
        slot->worker->start(nullptr);
        s.slots.push_back(std::move(slot));
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
