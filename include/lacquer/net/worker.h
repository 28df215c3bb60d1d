#pragma once
// One event loop on one thread (the multi-reactor's reactor). Everything created on a worker
// (connections, timers, listeners) is used only on its thread. Other threads talk to it only
// through post(), which queues a task and wakes the loop through an eventfd (once per batch:
// only the post that finds the queue empty writes it; a post from the loop's own thread
// writes nothing and runs after the current callback).
// Time: the worker reads its injected clock once per loop turn (now(), below); net::Timer
// measures real time whatever the clock (net/timer.h). It gives memory back to the system when
// a wave of connections or requests is over (memory_trim.h).

#include "lacquer/core/clock.h"
#include "lacquer/net/memory_trim.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <sys/types.h>
#include <thread>
#include <vector>

struct event_base;
struct event;

namespace lacquer::net {

// Something whose destruction must wait until the current callback has unwound.
class Disposable {
public:
    virtual ~Disposable() = default;
};

// Holds any owned object for Worker::dispose().
template <typename T> class DisposableBox final : public Disposable {
public:
    explicit DisposableBox(std::unique_ptr<T> thing) : thing_(std::move(thing)) {}

private:
    std::unique_ptr<T> thing_;
};

class Worker {
public:
    // `clock` must outlive the worker.
    explicit Worker(unsigned index, const core::Clock& clock = core::system_clock());
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    unsigned index() const { return index_; }
    // The kernel's id of the loop's thread once it runs (0 before): its /proc/self/task entry.
    pid_t tid() const { return tid_.load(std::memory_order_relaxed); }
    event_base* base() const { return base_; } // for net/ internals only

    // Runs the loop on a new thread; `on_start` runs first, on that thread.
    void start(std::function<void()> on_start);
    // Runs the loop on the calling thread until stop().
    void run();
    // Any thread: run `task` on this worker's thread soon. Never blocks on I/O.
    void post(std::function<void()> task);
    // Any thread: run `call(owner)` on this worker's thread soon. Allocates nothing (a
    // std::function holding a shared_ptr does, at every post): the reference moves into the
    // queue, whose capacity is kept. A call a stopping worker drops unrun releases `owner`.
    using OwnedCall = void (*)(std::shared_ptr<void> owner);
    void post(OwnedCall call, std::shared_ptr<void> owner);
    // Any thread: leave the loop after the current turn.
    void stop();
    void join();

    // This thread only: destroy `thing` once the current callback has returned, so that a
    // handler may end its own session from inside one of its callbacks.
    void dispose(std::unique_ptr<Disposable> thing);
    // Destroys what dispose() holds now, oldest first, and what those destructors dispose in
    // turn, until nothing is left. The loop's thread when it is not in a callback, or any
    // thread once the loop's thread has ended (shutdown: before what the disposed objects
    // refer to goes).
    void destroy_disposed();

    // The time of the current loop turn (STYLE.md §E), from the injected clock. A turn is one
    // pass of run(): the wait for events, the callbacks that became ready, then the queue. The
    // clock is read at the turn's first now() or unix_now(), which comes after the wait (an idle
    // wait never makes it old), and every later call in the turn gets the same value, so the
    // decisions of one batch of callbacks agree. It lags real time by at most how long the turn
    // has run. Costs one flag test and one load.
    // This thread only (the loop's, or the owner's while no loop runs). A loop driven by hand
    // with event_base_loop() keeps the first value read.
    core::Instant now() const {
        if (!turn_time_read_) [[unlikely]] {
            read_clock();
        }
        return now_;
    }
    // The wall clock's unix seconds, read with now().
    std::int64_t unix_now() const {
        if (!turn_time_read_) [[unlikely]] {
            read_clock();
        }
        return unix_now_;
    }
    const core::Clock& clock() const { return clock_; }

    // net/ internal (Connection): a connection on this worker opened / closed.
    void connection_opened();
    void connection_closed();
    // Times this worker gave memory back (memory_trim.h), for tests.
    std::uint64_t memory_trims() const { return trims_.load(std::memory_order_relaxed); }

private:
    static void on_wakeup(int fd, short what, void* arg);
    static void on_dispose(int fd, short what, void* arg);
    static void on_local_post(int fd, short what, void* arg);
    static void on_trim(int fd, short what, void* arg);
    static void on_quiet_check(int fd, short what, void* arg);
    void trim_memory();
    void drain_queue();
    void read_clock() const;
    void watch_memory(); // after each loop turn: arms the trim once a wave is over

    unsigned index_;
    const core::Clock& clock_;
    // The turn's time; the loop's thread only. run() clears the flag before each wait.
    mutable bool turn_time_read_ = false;
    mutable core::Instant now_{};
    mutable std::int64_t unix_now_ = 0;
    event_base* base_ = nullptr;
    int wakeup_fd_ = -1;
    event* wakeup_event_ = nullptr;
    event* dispose_event_ = nullptr;
    event* local_post_event_ = nullptr; // made active by post() on the loop's thread
    event* trim_event_ = nullptr;       // gives memory back kTrimDelay after a wave
    event* quiet_event_ = nullptr;      // every kQuietCheck: gone quiet? (memory_trim.h)
    bool trim_armed_ = false;
    std::uint64_t turns_ = 0; // loop turns, for quiet_event_
    std::uint64_t turns_at_check_ = 0;
    TrimWatch trim_watch_;
    std::atomic<std::uint64_t> trims_{0};
    std::atomic<std::thread::id> loop_thread_{};
    std::atomic<pid_t> tid_{0};
    std::vector<std::unique_ptr<Disposable>> graveyard_;
    std::vector<std::unique_ptr<Disposable>> dying_; // on_dispose's, kept for its capacity
    struct Task {
        std::function<void()> function; // or:
        OwnedCall call = nullptr;
        std::shared_ptr<void> owner;
    };
    void enqueue(Task task);
    std::mutex queue_mutex_;
    std::vector<Task> queue_; // guarded by queue_mutex_
    std::vector<Task> running_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace lacquer::net
