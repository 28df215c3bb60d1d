#pragma once
// The thread that re-resolves origin server names when they are due (origin/name_book.h) and,
// when an address set changed, asks the server to rebuild its pools from the running config.
// Resolving blocks, so it has its own thread: never a worker, never the probe loop.

#include "lacquer/core/clock.h"
#include "lacquer/origin/name_book.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <ostream>
#include <thread>

namespace lacquer::server {

class NameWatch {
public:
    // `rebuild` runs on the watch thread after a change; `log` gets the book's lines.
    NameWatch(origin::NameBook& book, const core::Clock& clock, std::function<void()> rebuild,
              std::ostream& log);
    ~NameWatch(); // stops and joins
    NameWatch(const NameWatch&) = delete;
    NameWatch& operator=(const NameWatch&) = delete;

private:
    void run();

    origin::NameBook& book_;
    const core::Clock& clock_;
    std::function<void()> rebuild_;
    std::ostream& log_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace lacquer::server
