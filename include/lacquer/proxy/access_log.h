#pragma once
// The access log: one line per request, NCSA combined plus cache status, route, origin time and
// total time, or JSON lines. Workers format into their own buffer (a lock nobody else takes
// except the writer for a swap); a writer thread does the write() calls, so a slow disk or a
// full pipe never blocks an event loop. When the writer falls behind by more than a bound,
// lines are dropped and counted rather than stalling a worker.

#include "lacquer/config/config.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lacquer::proxy {

class StepHistory; // request_fsm.h

struct AccessLogEntry {
    std::string_view client;
    std::string_view method;
    std::string_view target;
    int version_minor = 1;
    int status = 0;
    std::uint64_t body_bytes = 0;
    std::string_view referer;
    std::string_view user_agent;
    std::string_view cache_status;
    std::string_view route;
    double origin_ms = -1; // < 0: no origin exchange
    double total_ms = 0;
    std::int64_t unix_time = 0;
    std::string_view tls_version; // "" when the client connection is plain
    std::string_view sni;
    const StepHistory* steps = nullptr; // the request's way through RequestFsm (JSON "steps")
};

class AccessLog {
public:
    // nullptr when the config says `access: off`. Throws std::runtime_error when the file
    // cannot be opened.
    static std::unique_ptr<AccessLog> open(const config::LogConfig& config, unsigned workers);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    // Worker `worker`'s thread only (or any one thread once that thread has ended: the
    // requests cut at shutdown).
    void write(unsigned worker, const AccessLogEntry& entry);
    // Any thread: reopen the file (SIGUSR1, after logrotate moved it).
    void reopen();
    // Any thread: write out everything queued so far (tests, shutdown).
    void flush();
    std::uint64_t dropped_lines() const { return dropped_.load(std::memory_order_relaxed); }

private:
    AccessLog(const config::LogConfig& config, unsigned workers, int fd);
    struct Buffer {
        std::mutex mutex;
        std::string data; // guarded by mutex
        std::int64_t cached_second = -1;
        char cached_time[40] = {};
        std::size_t cached_time_length = 0;
    };
    void run();
    void write_out(std::string& batch);
    void format_combined(Buffer& buffer, const AccessLogEntry& e);
    void format_json(Buffer& buffer, const AccessLogEntry& e);

    static constexpr std::size_t kMaxBufferedBytes = 4 * 1024 * 1024;
    config::LogConfig config_;
    int fd_;
    std::vector<std::unique_ptr<Buffer>> buffers_;
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<bool> reopen_{false};
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;            // guarded by wake_mutex_
    std::uint64_t flush_requests_ = 0; // guarded by wake_mutex_
    std::uint64_t flushes_done_ = 0;   // guarded by wake_mutex_
    std::condition_variable flushed_;
    std::thread writer_;
};

} // namespace lacquer::proxy
