// Exact connection balance (connection_balancer.h): the decision on the accepting worker, the
// socket posted to the receiving one.
#include "lacquer/net/connection_balancer.h"

#include "lacquer/net/worker.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

namespace lacquer::net {

// A socket on its way to another worker: closed (and no longer pending) if that worker stops
// before it runs the delivery.
struct ConnectionBalancer::Handed {
    ConnectionBalancer* balancer = nullptr;
    unsigned to = 0;
    int fd = -1;
    sockaddr_storage peer{};
    bool has_peer = false;
    std::size_t listener = 0;
    std::string listener_key;

    Handed() = default;
    Handed(const Handed&) = delete;
    Handed& operator=(const Handed&) = delete;
    ~Handed() {
        if (fd >= 0) {
            ::close(fd);
        }
        balancer->members_[to].pending.fetch_sub(1, std::memory_order_relaxed);
    }
};

ConnectionBalancer::ConnectionBalancer(unsigned capacity)
    : capacity_(capacity), members_(std::make_unique<Member[]>(capacity)) {}

ConnectionBalancer::~ConnectionBalancer() = default;

void ConnectionBalancer::join(unsigned index, Worker& worker, Deliver deliver) {
    if (index >= capacity_) {
        return; // served as the kernel spreads them, like before
    }
    std::unique_lock<std::shared_mutex> lock(mutex_);
    Member& m = members_[index];
    m.worker = &worker;
    m.deliver = std::move(deliver);
    m.taking.store(true, std::memory_order_relaxed); // until the next set_active
    m.shed.store(0, std::memory_order_relaxed);
    m.joined.store(true, std::memory_order_release);
}

void ConnectionBalancer::leave(unsigned index) {
    if (index >= capacity_) {
        return;
    }
    std::unique_lock<std::shared_mutex> lock(mutex_);
    members_[index].joined.store(false, std::memory_order_release);
    members_[index].worker = nullptr;
}

void ConnectionBalancer::leave_all() {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    for (unsigned i = 0; i < capacity_; ++i) {
        members_[i].joined.store(false, std::memory_order_release);
        members_[i].worker = nullptr;
    }
}

int ConnectionBalancer::pick(unsigned from) const {
    if (from >= capacity_ || !members_[from].joined.load(std::memory_order_acquire)) {
        return -1;
    }
    const auto load_of = [this](unsigned i) {
        return members_[i].load.load(std::memory_order_relaxed) +
               members_[i].pending.load(std::memory_order_relaxed);
    };
    const std::uint32_t mine = load_of(from);
    const bool here = members_[from].taking.load(std::memory_order_relaxed);
    if (here && mine < 2) {
        return -1;
    }
    // The least loaded joined worker that takes connections; the scan reads counters only (no
    // lock). Any such, when `from` does not take them.
    int best = -1;
    std::uint32_t least = here ? mine - 1 : UINT32_MAX; // here: two fewer than `from` at least
    for (unsigned i = 0; i < capacity_; ++i) {
        if (i != from && members_[i].joined.load(std::memory_order_relaxed) &&
            members_[i].taking.load(std::memory_order_relaxed)) {
            const std::uint32_t l = load_of(i);
            if (l < least) {
                least = l;
                best = static_cast<int>(i);
            }
        }
    }
    return best;
}

void ConnectionBalancer::set_active(std::span<const unsigned> order, std::size_t active) {
    active = std::clamp<std::size_t>(active, 1, std::max<std::size_t>(order.size(), 1));
    std::uint64_t total = 0;
    for (const unsigned i : order) {
        if (i < capacity_) {
            total += members_[i].load.load(std::memory_order_relaxed);
        }
    }
    const std::uint64_t share = (total + active - 1) / active; // each taking worker's at most
    // Taking workers shed their excess only when more take connections than before (their
    // connections move to the new ones); the others shed every connection.
    std::size_t before = 0; // taking connections until now
    for (const unsigned i : order) {
        before += i < capacity_ && members_[i].taking.load(std::memory_order_relaxed) ? 1 : 0;
    }
    const bool grew = active > before;
    for (std::size_t k = 0; k < order.size(); ++k) {
        if (order[k] >= capacity_) {
            continue;
        }
        Member& m = members_[order[k]];
        const bool takes = k < active;
        m.taking.store(takes, std::memory_order_relaxed);
        const std::uint64_t load = m.load.load(std::memory_order_relaxed);
        const std::uint64_t keep = !takes ? 0 : grew ? share : load;
        m.shed.store(static_cast<std::uint32_t>(load > keep ? load - keep : 0),
                     std::memory_order_relaxed);
    }
}

std::uint32_t ConnectionBalancer::active() const {
    std::uint32_t n = 0;
    for (unsigned i = 0; i < capacity_; ++i) {
        n += members_[i].joined.load(std::memory_order_relaxed) &&
                     members_[i].taking.load(std::memory_order_relaxed)
                 ? 1
                 : 0;
    }
    return n;
}

bool ConnectionBalancer::hand_to(unsigned to, int fd, const sockaddr* peer, std::size_t listener,
                                 std::string_view listener_key) {
    if (to >= capacity_) {
        return false;
    }
    auto handed = std::make_shared<Handed>();
    handed->balancer = this;
    handed->to = to;
    members_[to].pending.fetch_add(1, std::memory_order_relaxed); // before another pick() reads
    handed->listener = listener;
    handed->listener_key = listener_key;
    if (peer != nullptr) {
        const std::size_t size = peer->sa_family == AF_INET6  ? sizeof(sockaddr_in6)
                                 : peer->sa_family == AF_INET ? sizeof(sockaddr_in)
                                                              : sizeof(sockaddr_un);
        std::memcpy(&handed->peer, peer, std::min(size, sizeof handed->peer));
        handed->has_peer = true;
    }
    std::shared_lock<std::shared_mutex> lock(mutex_);
    Member& target = members_[to];
    if (!target.joined.load(std::memory_order_acquire) || target.worker == nullptr) {
        return false; // it left meanwhile: `handed` gives its pending count back; fd stays ours
    }
    handed->fd = fd;
    target.worker->post(&ConnectionBalancer::deliver_handed, std::move(handed));
    handed_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void ConnectionBalancer::deliver_handed(std::shared_ptr<void> owner) {
    const std::shared_ptr<Handed> h = std::static_pointer_cast<Handed>(std::move(owner));
    const Member& m = h->balancer->members_[h->to];
    const int fd = std::exchange(h->fd, -1);
    m.deliver(fd, h->has_peer ? reinterpret_cast<const sockaddr*>(&h->peer) : nullptr, h->listener,
              h->listener_key);
    // `h` goes at return: the session is counted in `load` by now, so `pending` drops.
}

} // namespace lacquer::net
