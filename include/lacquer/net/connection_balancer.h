#pragma once
// Exact connection balance across the workers of one process (Envoy's exact_balance). The
// kernel spreads a SO_REUSEPORT group's connections by a hash of their addresses, blind to how
// many each worker holds: a few long-lived connections (a load balancer's keep-alive pool, a
// benchmark's) often land 11 to 5 on two workers, and the busier worker's requests then wait
// longer whenever the cores are shared. Here a worker that accepts a connection while it serves
// at least two more than the least loaded worker posts the socket to that worker, which serves
// it as if it had accepted it. The cost is one post per moved connection, none per request.
// Threads: hand_off() on the accepting worker; join()/leave() on the server's thread; the
// delivery runs on the receiving worker's thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace lacquer::net {

class Worker;

class ConnectionBalancer {
public:
    // Runs on the receiving worker's thread and owns `fd`: the listener index and key that
    // accepted it (the key names the listener across a reload that moves its index).
    using Deliver = std::function<void(int fd, const sockaddr* peer, std::size_t listener,
                                       std::string_view listener_key)>;

    explicit ConnectionBalancer(unsigned capacity);
    ~ConnectionBalancer();
    ConnectionBalancer(const ConnectionBalancer&) = delete;
    ConnectionBalancer& operator=(const ConnectionBalancer&) = delete;

    // Server thread, before worker `index` runs (or while its index is free of any earlier
    // worker's tasks): it takes connections handed to it, through `deliver`.
    void join(unsigned index, Worker& worker, Deliver deliver);
    // Any thread: nothing more is handed to `index` (it drains, or a reload removes it).
    // Connections already posted to it are served, or closed if it stops first.
    void leave(unsigned index);
    void leave_all();

    // Worker `index`'s client connections: its thread counts them (+1 when a session starts,
    // -1 when it ends); the others read them.
    std::atomic<std::uint32_t>* load(unsigned index) {
        return index < capacity_ ? &members_[index].load : nullptr;
    }

    // Any thread: worker `index`'s connections now.
    std::uint32_t connections(unsigned index) const {
        return index < capacity_ ? members_[index].load.load(std::memory_order_relaxed) : 0;
    }

    // The accepting worker's thread: the least loaded joined worker that takes connections
    // when worker `from` does not take them, or serves at least two more connections than it;
    // else -1 (serve the connection here).
    int pick(unsigned from) const;

    // `workers: auto` (worker_governor.h): of the joined workers `order` (running ones, first
    // ones first), the first `active` take new connections from now on and the others hand what
    // they accept to them. Workers that serve more than their share (the others: any) are asked
    // to shed the excess: each of those connections closes after its next answer, and its client
    // reconnects to a worker that takes connections. Any thread.
    void set_active(std::span<const unsigned> order, std::size_t active);
    bool taking(unsigned index) const {
        return index < capacity_ && members_[index].taking.load(std::memory_order_relaxed);
    }
    // Worker `index`'s thread, as a request starts: true for as many requests as it was asked to
    // shed (their answers say Connection: close). One relaxed load when there is nothing to shed.
    bool take_shed(unsigned index) {
        if (index >= capacity_) {
            return false;
        }
        std::atomic<std::uint32_t>& left = members_[index].shed;
        std::uint32_t n = left.load(std::memory_order_relaxed);
        while (n > 0 && !left.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
        }
        if (n == 0) {
            return false;
        }
        shed_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    // Connections closed so, since the start (metrics, tests).
    std::uint64_t shed_connections() const { return shed_.load(std::memory_order_relaxed); }
    // Joined workers taking connections now (metrics; scans every index).
    std::uint32_t active() const;
    // Then: posts `fd` to worker `to`; true (`fd` is not the caller's any more), or false when
    // `to` left meanwhile (serve it here).
    bool hand_to(unsigned to, int fd, const sockaddr* peer, std::size_t listener,
                 std::string_view listener_key);

    // Connections handed to another worker since the start, for tests and metrics.
    std::uint64_t handed_off() const { return handed_.load(std::memory_order_relaxed); }

private:
    // A cache line each: a worker reads its own `shed` once per request, and the others write
    // their own counters at their connections' pace.
    struct alignas(64) Member {
        std::atomic<std::uint32_t> load{0};    // sessions the worker serves
        std::atomic<std::uint32_t> pending{0}; // posted to it, not started yet
        std::atomic<bool> joined{false};
        std::atomic<bool> taking{true};     // set_active
        std::atomic<std::uint32_t> shed{0}; // connections to close after their next answer
        Worker* worker = nullptr;           // mutex_ (exclusive to write)
        Deliver deliver;                    // written by join() only, read by the worker's thread
    };
    struct Handed;
    static void deliver_handed(std::shared_ptr<void> owner);

    const unsigned capacity_;
    std::unique_ptr<Member[]> members_;
    mutable std::shared_mutex mutex_; // join/leave exclusive; a hand-off's post shared
    std::atomic<std::uint64_t> handed_{0};
    std::atomic<std::uint64_t> shed_{0};
};

} // namespace lacquer::net
