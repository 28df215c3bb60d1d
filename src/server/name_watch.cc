#include "name_watch.h"

#include <algorithm>
#include <chrono>

namespace lacquer::server {

namespace {
// The watch wakes at least this often: the clock may be a test's manual one, which moves
// without waking anybody.
constexpr auto kLongestSleep = std::chrono::milliseconds(250);
} // namespace

NameWatch::NameWatch(origin::NameBook& book, const core::Clock& clock,
                     std::function<void()> rebuild, std::ostream& log)
    : book_(book), clock_(clock), rebuild_(std::move(rebuild)), log_(log),
      thread_([this] { run(); }) {}

NameWatch::~NameWatch() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void NameWatch::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
        lock.unlock();
        if (book_.refresh(clock_.now(), log_)) {
            rebuild_();
        }
        const std::optional<core::Instant> due = book_.next_due();
        auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(kLongestSleep);
        if (due) {
            sleep = std::clamp(
                std::chrono::duration_cast<std::chrono::milliseconds>(*due - clock_.now()),
                std::chrono::milliseconds(1), sleep);
        }
        lock.lock();
        wake_.wait_for(lock, sleep, [this] { return stop_; });
    }
}

} // namespace lacquer::server
