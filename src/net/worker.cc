#include "lacquer/net/worker.h"

#include "lacquer/core/assert.h"
#include "lacquer/net/event_memory.h"

#include <cerrno>
#include <cstdint>
#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace lacquer::net {

Worker::Worker(unsigned index, const core::Clock& clock) : index_(index), clock_(clock) {
    install_event_memory(); // the first libevent call of a process is a Worker's
    event_config* cfg = event_config_new();
    LACQUER_ASSERT(cfg != nullptr);
    // One loop per thread and nothing shared: no locks inside libevent (STYLE.md §D).
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    base_ = event_base_new_with_config(cfg);
    event_config_free(cfg);
    LACQUER_ASSERT(base_ != nullptr);
    wakeup_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    LACQUER_ASSERT(wakeup_fd_ >= 0);
    wakeup_event_ = event_new(base_, wakeup_fd_, EV_READ | EV_PERSIST, &Worker::on_wakeup, this);
    LACQUER_ASSERT(wakeup_event_ != nullptr && event_add(wakeup_event_, nullptr) == 0);
    dispose_event_ = event_new(base_, -1, 0, &Worker::on_dispose, this);
    LACQUER_ASSERT(dispose_event_ != nullptr);
    local_post_event_ = event_new(base_, -1, 0, &Worker::on_local_post, this);
    LACQUER_ASSERT(local_post_event_ != nullptr);
    trim_event_ = event_new(base_, -1, 0, &Worker::on_trim, this);
    LACQUER_ASSERT(trim_event_ != nullptr);
    quiet_event_ = event_new(base_, -1, EV_PERSIST, &Worker::on_quiet_check, this);
    const timeval every{static_cast<time_t>(kQuietCheck.count() / 1000),
                        static_cast<suseconds_t>((kQuietCheck.count() % 1000) * 1000)};
    LACQUER_ASSERT(quiet_event_ != nullptr && event_add(quiet_event_, &every) == 0);
}

Worker::~Worker() {
    stop();
    join();
    destroy_disposed();
    event_free(quiet_event_);
    event_free(trim_event_);
    event_free(local_post_event_);
    event_free(dispose_event_);
    event_free(wakeup_event_);
    close(wakeup_fd_);
    event_base_free(base_);
}

void Worker::start(std::function<void()> on_start) {
    thread_ = std::thread([this, on_start = std::move(on_start)] {
        if (on_start) {
            on_start();
        }
        run();
    });
}

void Worker::run() {
    loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    tid_.store(::gettid(), std::memory_order_relaxed);
    while (!stopping_.load(std::memory_order_acquire)) {
        // One turn. EVLOOP_ONCE waits at most once, before the first callback: after one has
        // run, libevent only polls without waiting until nothing is active, then returns. So
        // the clock read at the turn's first now() comes after the turn's only wait.
        turn_time_read_ = false;
        if (event_base_loop(base_, EVLOOP_ONCE) < 0) {
            break;
        }
        drain_queue();
        ++turns_;
        watch_memory();
    }
    destroy_disposed();
}

void Worker::post(std::function<void()> task) {
    enqueue(Task{std::move(task), nullptr, {}});
}

void Worker::post(OwnedCall call, std::shared_ptr<void> owner) {
    enqueue(Task{{}, call, std::move(owner)});
}

void Worker::enqueue(Task task) {
    bool was_empty = false;
    {
        std::lock_guard<std::mutex> lock(queue_mutex_);
        was_empty = queue_.empty();
        queue_.push_back(std::move(task));
    }
    if (loop_thread_.load(std::memory_order_acquire) == std::this_thread::get_id()) {
        event_active(local_post_event_, 0, 0); // no syscall; runs after the current callback
        return;
    }
    if (!was_empty) {
        return; // whoever queued the first task has written the eventfd; one drain takes all
    }
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop will wake anyway.
    [[maybe_unused]] const ssize_t n = write(wakeup_fd_, &one, sizeof one);
}

void Worker::stop() {
    stopping_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wakeup_fd_, &one, sizeof one);
}

void Worker::join() {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
        thread_.join();
    }
}

void Worker::dispose(std::unique_ptr<Disposable> thing) {
    graveyard_.push_back(std::move(thing));
    event_active(dispose_event_, 0, 0);
}

void Worker::on_wakeup(int fd, short, void* arg) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = read(fd, &count, sizeof count);
    static_cast<Worker*>(arg)->drain_queue();
}

void Worker::on_local_post(int, short, void* arg) {
    static_cast<Worker*>(arg)->drain_queue();
}

void Worker::destroy_disposed() {
    // Destructors may dispose more things: they land in the emptied graveyard, never in the
    // vector being destroyed, and go in the next round.
    std::vector<std::unique_ptr<Disposable>> dead;
    while (!graveyard_.empty()) {
        dead.swap(graveyard_);
        for (std::unique_ptr<Disposable>& thing : dead) {
            thing.reset(); // in the order they were disposed
        }
        dead.clear();
    }
}

void Worker::on_dispose(int, short, void* arg) {
    auto* self = static_cast<Worker*>(arg);
    // Destructors may dispose more things; they land in the emptied graveyard and a new
    // activation. Both vectors keep their capacity: a dispose allocates nothing.
    std::vector<std::unique_ptr<Disposable>>& dead = self->dying_;
    dead.swap(self->graveyard_);
    for (std::unique_ptr<Disposable>& thing : dead) {
        thing.reset(); // in the order they were disposed
    }
    dead.clear();
}

void Worker::read_clock() const {
    now_ = clock_.now();
    unix_now_ = clock_.unix_seconds();
    turn_time_read_ = true;
}

void Worker::connection_opened() {
    ++trim_watch_.connections;
    if (trim_watch_.connections > trim_watch_.peak) {
        trim_watch_.peak = trim_watch_.connections;
    }
}

void Worker::connection_closed() {
    if (trim_watch_.connections > 0) {
        --trim_watch_.connections;
    }
}

void Worker::watch_memory() {
    if (trim_armed_) {
        return;
    }
    trim_watch_.freed_bytes = cache_bytes_freed();
    if (!wave_over(trim_watch_)) {
        return;
    }
    trim_armed_ = true;
    const timeval delay{static_cast<time_t>(kTrimDelay.count() / 1000),
                        static_cast<suseconds_t>((kTrimDelay.count() % 1000) * 1000)};
    event_add(trim_event_, &delay);
}

void Worker::on_trim(int, short, void* arg) {
    static_cast<Worker*>(arg)->trim_memory();
}

void Worker::on_quiet_check(int, short, void* arg) {
    auto* self = static_cast<Worker*>(arg);
    const std::uint64_t turns = self->turns_ - self->turns_at_check_;
    self->turns_at_check_ = self->turns_;
    if (quiet_with_memory(turns, cache_bytes_kept(), cache_bytes_freed())) {
        self->trim_memory();
    }
}

void Worker::trim_memory() {
    if (trim_armed_) {
        event_del(trim_event_);
        trim_armed_ = false;
    }
    give_memory_back();
    trim_watch_.peak = trim_watch_.connections;
    trim_watch_.freed_bytes = 0;
    trims_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::drain_queue() {
    {
        std::lock_guard<std::mutex> lock(queue_mutex_);
        running_.swap(queue_);
    }
    for (Task& task : running_) {
        if (task.call != nullptr) {
            task.call(std::move(task.owner));
        } else {
            task.function();
        }
    }
    running_.clear();
}

} // namespace lacquer::net
