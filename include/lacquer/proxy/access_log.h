#pragma once
// The access log: one line per request, whichever way it ended (RequestFsm::log() is the one
// place that writes it, once). Formats: NCSA combined plus cache status, route, origin time and
// total time, then `name=value` for each of log.fields; JSON lines keyed by the field names;
// or custom: the fields' values in order, space-separated. Workers format into their own
// buffer (a lock nobody else takes except the writer for a swap); a writer thread does the
// write() calls, so a slow disk or a full pipe never blocks an event loop. When the writer
// falls behind by more than a bound, lines are dropped and counted rather than stalling a
// worker. Formatting allocates nothing once the buffers have grown to their working size.

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

// How a request ended (the `term` field), in the spirit of HAProxy's termination state.
enum class Termination : std::uint8_t {
    Ok,            // the whole answer was handed to the connection
    ClientAbort,   // the client went away first (status 499 when no answer had started)
    ClientTimeout, // the head or body did not arrive in time (408)
    ClientError,   // a head or body the proxy could not read (400, 413, 414, 431, ...)
    OriginAbort,   // the answer had started and was cut: the origin failed mid-body
    Shutdown,      // still running at limits.drain_timeout when the process stopped
    Internal,      // the proxy failed (a request body file could not be written)
};
std::string_view termination_name(Termination term);

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
    std::int64_t unix_time = 0;   // seconds
    std::int64_t unix_us = 0;     // the same instant in microseconds (0: unix_time's second)
    std::string_view tls_version; // "" when the client connection is plain
    std::string_view sni;
    const StepHistory* steps = nullptr; // the request's way through RequestFsm (JSON "steps")
    std::string_view host;
    std::string_view request_id;
    std::string_view traceparent;
    std::string_view upstream_addr;
    std::uint64_t request_bytes = 0;
    Termination term = Termination::Ok;
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

    // The fields a format writes when log.fields is not given (combined: after its own).
    static std::vector<config::LogFieldSpec> default_fields(config::AccessLogFormat format);

private:
    AccessLog(const config::LogConfig& config, unsigned workers, int fd);
    struct Buffer {
        std::mutex mutex;
        std::string data; // guarded by mutex
        // The second last formatted, as [06/Dec/2026:07:19:46 +0000] and 2026-12-06T07:19:46.
        std::int64_t cached_second = -1;
        char cached_time[40] = {};
        std::size_t cached_time_length = 0;
        char cached_iso[24] = {};
        std::size_t cached_iso_length = 0;
    };
    // A field as the line writes it: in JSON, its key already quoted ("\"name\":").
    struct Field {
        config::LogField field;
        std::string json_key;
        std::string text_key; // combined: " name="
    };
    void run();
    void write_out(std::string& batch);
    void format_combined(Buffer& buffer, const AccessLogEntry& e);
    void format_json(Buffer& buffer, const AccessLogEntry& e);
    void format_custom(Buffer& buffer, const AccessLogEntry& e);
    void append_text(Buffer& buffer, config::LogField field, const AccessLogEntry& e);
    void append_json(Buffer& buffer, config::LogField field, const AccessLogEntry& e);

    static constexpr std::size_t kMaxBufferedBytes = 4 * 1024 * 1024;
    config::LogConfig config_;
    std::vector<Field> fields_; // log.fields, or the format's default
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
