// SnapshotFiles: cache/snapshot.h's reader and writer, with the running config's routes for
// the key-policy fingerprints, sd_notify STATUS lines and one log line per read or write.
#include "snapshot_files.h"

#include "lacquer/cache/snapshot.h"
#include "lacquer/proxy/route_fingerprint.h"

#include <chrono>
#include <cstdio>
#include <ostream>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace lacquer::server {

namespace {

std::string mib(std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return text;
}

// MB/s (10^6 bytes) over `ms`, as the perf figures give it.
std::string rate(std::uint64_t bytes, double ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f MB/s",
                  ms > 0 ? static_cast<double>(bytes) / ms / 1000.0 : 0.0);
    return text;
}

double millis_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// CPU time of the calling thread (user + system), ms: on a busy machine the wall time of a
// read or write says little about its own cost.
double thread_cpu_ms() {
    rusage usage{};
    if (getrusage(RUSAGE_THREAD, &usage) != 0) {
        return 0;
    }
    const auto ms = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
    };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

std::string cost(double wall_ms, double cpu_ms) {
    return std::to_string(static_cast<long>(wall_ms)) + " ms (cpu " +
           std::to_string(static_cast<long>(cpu_ms)) + " ms)";
}

void notify_status(const std::string& status) {
    sd_notify(0, ("STATUS=" + status).c_str());
}

} // namespace

SnapshotFiles::SnapshotFiles(cache::ObjectStore& store, const core::Clock& clock, Running running,
                             std::ostream& log)
    : store_(store), clock_(clock), running_(std::move(running)), log_(log) {}

SnapshotFiles::~SnapshotFiles() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void SnapshotFiles::load() {
    const std::shared_ptr<const proxy::Generation> g = running_();
    const std::string& path = g->config.storage.snapshot;
    if (path.empty()) {
        return;
    }
    notify_status("loading cache snapshot " + path);
    const proxy::RouteFingerprints fingerprints(*g->routes);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_ms();
    const cache::SnapshotLoad r = cache::read_snapshot_file(
        path, store_, clock_, [&](std::string_view key) { return fingerprints.of_key(key); });
    const double ms = millis_since(start);
    const double cpu = thread_cpu_ms() - cpu_start;
    std::string line;
    if (r.missing) {
        line = "lacquerd: no cache snapshot at " + path + " (cold start)";
    } else if (!r.error.empty()) {
        line = "lacquerd: cache snapshot " + path + " ignored (cold start): " + r.error;
    } else {
        line = "lacquerd: cache snapshot " + path + " (written by lacquer " + r.build +
               "): loaded " + std::to_string(r.loaded) + " objects (" + mib(r.bytes) + ") in " +
               cost(ms, cpu) + ", " + rate(r.file_bytes, ms) + "; dropped " +
               std::to_string(r.expired) + " expired, " + std::to_string(r.policy_changed) +
               " of changed route key policies, " + std::to_string(r.over_budget) +
               " over storage.memory";
        if (r.newer_stored > 0) {
            line += ", " + std::to_string(r.newer_stored) + " stored anew meanwhile";
        }
    }
    if (!r.missing) {
        // Consumed: a crash must not bring back what was purged after this start (see .h).
        ::unlink(path.c_str());
    }
    log_ << (line + "\n") << std::flush;
    notify_status("cache snapshot: " + std::to_string(r.loaded) + " objects loaded");
}

void SnapshotFiles::save(const char* why) {
    std::lock_guard<std::mutex> one_at_a_time(write_mutex_);
    const std::shared_ptr<const proxy::Generation> g = running_();
    const std::string& path = g->config.storage.snapshot;
    if (path.empty()) {
        return;
    }
    notify_status(std::string("writing cache snapshot ") + path + " (" + why + ")");
    const proxy::RouteFingerprints fingerprints(*g->routes);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_ms();
    const cache::SnapshotWrite w = cache::write_snapshot(
        store_, path, clock_, [&](std::string_view key) { return fingerprints.of_key(key); },
        LACQUER_VERSION_STRING);
    const double ms = millis_since(start);
    const double cpu = thread_cpu_ms() - cpu_start;
    if (!w.error.empty()) {
        log_ << ("lacquerd: cache snapshot not written (" + std::string(why) + "): " + w.error +
                 "\n")
             << std::flush;
        notify_status("cache snapshot not written");
        return;
    }
    log_ << ("lacquerd: cache snapshot written to " + path + " (" + why +
             "): " + std::to_string(w.objects) + " objects, " + mib(w.bytes) + " in " +
             cost(ms, cpu) + ", " + rate(w.bytes, ms) + "\n")
         << std::flush;
    notify_status("cache snapshot written: " + std::to_string(w.objects) + " objects");
}

void SnapshotFiles::start_periodic() {
    thread_ = std::thread([this] { periodic(); });
}

void SnapshotFiles::periodic() {
    // Polls the running config once a second (a reload may set, change or clear the period)
    // and writes when a period has passed since the last write or the start.
    auto last = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(1));
        if (stopping_) {
            break;
        }
        const std::shared_ptr<const proxy::Generation> g = running_();
        const core::Millis every = g->config.storage.snapshot_every;
        if (every.count() <= 0 || g->config.storage.snapshot.empty() ||
            std::chrono::steady_clock::now() - last < every) {
            continue;
        }
        lock.unlock(); // stop_and_save() may wait for this write
        save("periodic");
        last = std::chrono::steady_clock::now();
        lock.lock();
    }
}

void SnapshotFiles::stop_and_save() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    save("stop");
}

} // namespace lacquer::server
