#pragma once
// The warm restart's process side (storage.snapshot): read the snapshot into the store before
// the server reports ready, write it when the server stops (after the drain, the workers
// joined) and every storage.snapshot_every meanwhile, from a thread of its own, never a
// worker's. Each read and write tells systemd (STATUS=) and logs one line.
// The path and the period are the running config's, read at each write, so a reload may change
// both (the read at start uses the start config's path). A loaded snapshot is removed: after a
// crash, only a snapshot written since (at most snapshot_every old) can bring objects back, so
// a purge is never undone by more than that.
// Thread-safety: load() before the workers start; save() and the periodic thread are
// serialised by a mutex; stop() joins the thread.

#include "lacquer/cache/object_store.h"
#include "lacquer/core/clock.h"
#include "lacquer/proxy/generation.h"

#include <condition_variable>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace lacquer::server {

class SnapshotFiles {
public:
    using Running = std::function<std::shared_ptr<const proxy::Generation>()>;

    // `running` gives the generation that runs now (its config and routes); `log` gets the
    // one-line reports and must outlive this object.
    SnapshotFiles(cache::ObjectStore& store, const core::Clock& clock, Running running,
                  std::ostream& log);
    ~SnapshotFiles();
    SnapshotFiles(const SnapshotFiles&) = delete;
    SnapshotFiles& operator=(const SnapshotFiles&) = delete;

    // Start-up, before the workers serve: reads the running config's snapshot, if it has one.
    void load();
    // Starts the thread of the periodic writes (it idles while snapshot_every is 0).
    void start_periodic();
    // Stops the periodic thread and writes the snapshot one last time (when configured).
    void stop_and_save();

private:
    void save(const char* why);
    void periodic();

    cache::ObjectStore& store_;
    const core::Clock& clock_;
    Running running_;
    std::ostream& log_;
    std::mutex write_mutex_; // one write at a time
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false; // guarded by mutex_
    std::thread thread_;
};

} // namespace lacquer::server
