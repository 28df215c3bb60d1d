#include "lacquer/proxy/access_log.h"

#include "lacquer/core/errno_text.h"
#include "lacquer/core/json_text.h"
#include "lacquer/proxy/request_fsm.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace lacquer::proxy {

namespace {

int open_target(const config::LogConfig& config) {
    if (config.access == config::AccessLogTarget::Stdout) {
        return STDOUT_FILENO;
    }
    const int fd =
        ::open(config.access_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        throw std::runtime_error("cannot open access log '" + config.access_path +
                                 "': " + core::errno_text(errno));
    }
    return fd;
}

// Quotes and control bytes as \xHH, as nginx does, so a line can never be split or forged. In
// JSON: well-formed UTF-8 goes as it is (a parser reads back the same characters); a byte that
// is not part of one becomes \udcXX, the lone surrogate that Python's surrogateescape and
// others read back as that byte (strict parsers read U+FFFD): nothing is lost or reinterpreted
// as Latin-1.
void append_escaped(std::string& out, std::string_view v, bool json) {
    if (json) {
        core::append_json_escaped(out, v);
        return;
    }
    if (v.empty()) {
        out.push_back('-');
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
            out.append("\\x");
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
}

void append_ms(std::string& out, double ms) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.3f", ms);
    out.append(buf, static_cast<std::size_t>(n));
}

template <typename Int> void append_int(std::string& out, Int v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(end - buf));
}

// A text field: "-" when absent; anything that could split or forge a line escaped, spaces
// too (a bare field never contains one), so fields are found by splitting on spaces.
void append_bare(std::string& out, std::string_view v) {
    if (v.empty()) {
        out.push_back('-');
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '"' || c == '\\') {
            out.append("\\x");
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
}

void append_quoted(std::string& out, std::string_view v) {
    out.push_back('"');
    append_escaped(out, v, false); // "-" when empty, as nginx writes an absent Referer
    out.push_back('"');
}

void append_json_string(std::string& out, std::string_view v) {
    if (v.empty()) {
        out.append("null");
        return;
    }
    out.push_back('"');
    append_escaped(out, v, true);
    out.push_back('"');
}

std::string_view protocol_of(const AccessLogEntry& e) {
    return e.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

std::int64_t unix_us_of(const AccessLogEntry& e) {
    return e.unix_us != 0 ? e.unix_us : e.unix_time * 1'000'000;
}

} // namespace

std::string_view termination_name(Termination term) {
    switch (term) {
    case Termination::Ok:
        return "ok";
    case Termination::ClientAbort:
        return "client_abort";
    case Termination::ClientTimeout:
        return "client_timeout";
    case Termination::ClientError:
        return "client_error";
    case Termination::OriginAbort:
        return "origin_abort";
    case Termination::Shutdown:
        return "shutdown";
    case Termination::Internal:
        return "internal";
    }
    return "?";
}

std::vector<config::LogFieldSpec> AccessLog::default_fields(config::AccessLogFormat format) {
    using F = config::LogField;
    std::vector<F> ids;
    if (format == config::AccessLogFormat::Json) {
        // Round 1's keys first, in their order, then the ones issue 20 added.
        ids = {F::Time,      F::Client,      F::Method,  F::Target,       F::Protocol,
               F::Status,    F::Bytes,       F::Referer, F::UserAgent,    F::Cache,
               F::Route,     F::OriginMs,    F::TotalMs, F::Tls,          F::Sni,
               F::Steps,     F::TimeIso8601, F::Host,    F::RequestBytes, F::UpstreamAddr,
               F::RequestId, F::Traceparent, F::Term};
    } else {
        ids = {F::RequestId, F::Term}; // combined: after its own fields
    }
    std::vector<config::LogFieldSpec> fields;
    fields.reserve(ids.size());
    for (const F id : ids) {
        fields.push_back({id, std::string(config::log_field_name(id))});
    }
    return fields;
}

std::unique_ptr<AccessLog> AccessLog::open(const config::LogConfig& config, unsigned workers) {
    if (config.access == config::AccessLogTarget::Off) {
        return nullptr;
    }
    return std::unique_ptr<AccessLog>(new AccessLog(config, workers, open_target(config)));
}

AccessLog::AccessLog(const config::LogConfig& config, unsigned workers, int fd)
    : config_(config), fd_(fd) {
    const std::vector<config::LogFieldSpec> specs =
        config.fields.empty() ? default_fields(config.format) : config.fields;
    for (const config::LogFieldSpec& spec : specs) {
        fields_.push_back({spec.field, "\"" + spec.name + "\":", " " + spec.name + "="});
    }
    for (unsigned i = 0; i < workers; ++i) {
        buffers_.push_back(std::make_unique<Buffer>());
    }
    writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
    if (fd_ != STDOUT_FILENO) {
        ::close(fd_);
    }
}

void AccessLog::write(unsigned worker, const AccessLogEntry& entry) {
    Buffer& b = *buffers_[worker];
    std::lock_guard<std::mutex> lock(b.mutex);
    if (b.data.size() > kMaxBufferedBytes) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::int64_t second = unix_us_of(entry) / 1'000'000;
    if (second != b.cached_second) {
        const std::time_t t = second;
        std::tm tm{};
        gmtime_r(&t, &tm);
        b.cached_time_length =
            std::strftime(b.cached_time, sizeof b.cached_time, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        b.cached_iso_length =
            std::strftime(b.cached_iso, sizeof b.cached_iso, "%Y-%m-%dT%H:%M:%S", &tm);
        b.cached_second = second;
    }
    switch (config_.format) {
    case config::AccessLogFormat::Json:
        format_json(b, entry);
        break;
    case config::AccessLogFormat::Custom:
        format_custom(b, entry);
        break;
    case config::AccessLogFormat::Combined:
        format_combined(b, entry);
        break;
    }
}

void AccessLog::format_combined(Buffer& b, const AccessLogEntry& e) {
    std::string& o = b.data;
    o.append(e.client.empty() ? std::string_view("-") : e.client);
    o.append(" - - ");
    o.append(b.cached_time, b.cached_time_length);
    o.append(" \"");
    append_escaped(o, e.method, false);
    o.push_back(' ');
    append_escaped(o, e.target, false);
    o.append(e.version_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    append_int(o, e.status);
    o.push_back(' ');
    append_int(o, e.body_bytes);
    o.append(" \"");
    append_escaped(o, e.referer, false);
    o.append("\" \"");
    append_escaped(o, e.user_agent, false);
    o.append("\" cache=");
    o.append(e.cache_status);
    o.append(" route=");
    append_escaped(o, e.route, false);
    o.append(" origin_ms=");
    if (e.origin_ms < 0) {
        o.push_back('-');
    } else {
        append_ms(o, e.origin_ms);
    }
    o.append(" total_ms=");
    append_ms(o, e.total_ms);
    if (!e.tls_version.empty()) {
        o.append(" tls=");
        o.append(e.tls_version);
        o.append(" sni=");
        append_escaped(o, e.sni.empty() ? std::string_view("-") : e.sni, false);
    }
    for (const Field& f : fields_) {
        o.append(f.text_key);
        append_text(b, f.field, e);
    }
    o.push_back('\n');
}

void AccessLog::format_custom(Buffer& b, const AccessLogEntry& e) {
    bool first = true;
    for (const Field& f : fields_) {
        if (!first) {
            b.data.push_back(' ');
        }
        first = false;
        append_text(b, f.field, e);
    }
    b.data.push_back('\n');
}

void AccessLog::format_json(Buffer& b, const AccessLogEntry& e) {
    std::string& o = b.data;
    o.push_back('{');
    bool first = true;
    for (const Field& f : fields_) {
        if (!first) {
            o.push_back(',');
        }
        first = false;
        o.append(f.json_key);
        append_json(b, f.field, e);
    }
    o.append("}\n");
}

// The values that read the same in text and JSON: numbers (text "-" / JSON null when absent).
// False when `field` is not one of them.
namespace {
bool append_number(std::string& o, config::LogField field, const AccessLogEntry& e, bool json) {
    using F = config::LogField;
    const auto absent = [&o, json] { o.append(json ? "null" : "-"); };
    switch (field) {
    case F::Time:
        append_int(o, unix_us_of(e) / 1'000'000);
        return true;
    case F::TimeMsec: {
        const std::int64_t us = unix_us_of(e);
        append_int(o, us / 1'000'000);
        char buf[8];
        std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(us % 1'000'000 / 1000));
        o.append(buf, 4);
        return true;
    }
    case F::Status:
        append_int(o, e.status);
        return true;
    case F::Bytes:
        append_int(o, e.body_bytes);
        return true;
    case F::RequestBytes:
        append_int(o, e.request_bytes);
        return true;
    case F::OriginMs:
        e.origin_ms < 0 ? absent() : append_ms(o, e.origin_ms);
        return true;
    case F::OriginUs:
        e.origin_ms < 0 ? absent() : append_int(o, std::llround(e.origin_ms * 1000.0));
        return true;
    case F::TotalMs:
        append_ms(o, e.total_ms);
        return true;
    case F::TotalUs:
        append_int(o, std::llround(e.total_ms * 1000.0));
        return true;
    default:
        return false;
    }
}
} // namespace

void AccessLog::append_text(Buffer& b, config::LogField field, const AccessLogEntry& e) {
    using F = config::LogField;
    std::string& o = b.data;
    if (append_number(o, field, e, false)) {
        return;
    }
    switch (field) {
    case F::TimeIso8601:
        o.append(b.cached_iso, b.cached_iso_length);
        {
            char buf[8];
            std::snprintf(buf, sizeof buf, ".%03dZ",
                          static_cast<int>(unix_us_of(e) % 1'000'000 / 1000));
            o.append(buf, 5);
        }
        return;
    case F::TimeLocal:
        o.append(b.cached_time, b.cached_time_length);
        return;
    case F::Client:
        return append_bare(o, e.client);
    case F::Method:
        return append_bare(o, e.method);
    case F::Target:
        return append_bare(o, e.target);
    case F::Protocol:
        o.append(protocol_of(e));
        return;
    case F::Request:
        o.push_back('"');
        append_escaped(o, e.method, false);
        o.push_back(' ');
        append_escaped(o, e.target, false);
        o.push_back(' ');
        o.append(protocol_of(e));
        o.push_back('"');
        return;
    case F::Referer:
        return append_quoted(o, e.referer);
    case F::UserAgent:
        return append_quoted(o, e.user_agent);
    case F::Host:
        return append_bare(o, e.host);
    case F::Cache:
        return append_bare(o, e.cache_status);
    case F::Route:
        return append_bare(o, e.route);
    case F::UpstreamAddr:
        return append_bare(o, e.upstream_addr);
    case F::RequestId:
        return append_bare(o, e.request_id);
    case F::Traceparent:
        return append_bare(o, e.traceparent);
    case F::Tls:
        return append_bare(o, e.tls_version);
    case F::Sni:
        return append_bare(o, e.sni);
    case F::Term:
        o.append(termination_name(e.term));
        return;
    case F::Steps:
        o.push_back('"');
        if (e.steps != nullptr && e.steps->size() > 0) {
            e.steps->append_trace(o); // step names and numbers: nothing to escape
        } else {
            o.push_back('-');
        }
        o.push_back('"');
        return;
    default:
        o.push_back('-'); // the numbers: written above
        return;
    }
}

void AccessLog::append_json(Buffer& b, config::LogField field, const AccessLogEntry& e) {
    using F = config::LogField;
    std::string& o = b.data;
    if (append_number(o, field, e, true)) {
        return;
    }
    switch (field) {
    case F::TimeIso8601:
    case F::TimeLocal:
        o.push_back('"');
        append_text(b, field, e); // digits, letters and punctuation only
        o.push_back('"');
        return;
    case F::Client:
        return append_json_string(o, e.client);
    case F::Method:
        return append_json_string(o, e.method);
    case F::Target:
        return append_json_string(o, e.target);
    case F::Protocol:
        o.push_back('"');
        o.append(protocol_of(e));
        o.push_back('"');
        return;
    case F::Request:
        o.push_back('"');
        append_escaped(o, e.method, true);
        o.push_back(' ');
        append_escaped(o, e.target, true);
        o.push_back(' ');
        o.append(protocol_of(e));
        o.push_back('"');
        return;
    case F::Referer:
        return append_json_string(o, e.referer);
    case F::UserAgent:
        return append_json_string(o, e.user_agent);
    case F::Host:
        return append_json_string(o, e.host);
    case F::Cache:
        return append_json_string(o, e.cache_status);
    case F::Route:
        return append_json_string(o, e.route);
    case F::UpstreamAddr:
        return append_json_string(o, e.upstream_addr);
    case F::RequestId:
        return append_json_string(o, e.request_id);
    case F::Traceparent:
        return append_json_string(o, e.traceparent);
    case F::Tls:
        return append_json_string(o, e.tls_version);
    case F::Sni:
        return append_json_string(o, e.sni);
    case F::Term:
        o.push_back('"');
        o.append(termination_name(e.term));
        o.push_back('"');
        return;
    case F::Steps:
        if (e.steps == nullptr || e.steps->size() == 0) {
            o.append("null");
            return;
        }
        o.push_back('"');
        e.steps->append_trace(o);
        o.push_back('"');
        return;
    default:
        o.append("null"); // the numbers: written above
        return;
    }
}

void AccessLog::reopen() {
    reopen_.store(true, std::memory_order_release);
    wake_.notify_all();
}

void AccessLog::flush() {
    std::unique_lock<std::mutex> lock(wake_mutex_);
    const std::uint64_t ticket = ++flush_requests_;
    wake_.notify_all();
    flushed_.wait_for(lock, std::chrono::seconds(5), [&] { return flushes_done_ >= ticket; });
}

void AccessLog::write_out(std::string& batch) {
    std::size_t off = 0;
    while (off < batch.size()) {
        const ssize_t n = ::write(fd_, batch.data() + off, batch.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; // the target is gone (closed pipe, full disk): drop the rest of this batch
        }
        off += static_cast<std::size_t>(n);
    }
    batch.clear();
}

void AccessLog::run() {
    std::string batch;
    for (;;) {
        std::uint64_t flush_ticket = 0;
        bool stopping = false;
        {
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(200), [&] {
                return stopping_ || flush_requests_ > flushes_done_ ||
                       reopen_.load(std::memory_order_acquire);
            });
            stopping = stopping_;
            flush_ticket = flush_requests_;
        }
        for (auto& b : buffers_) {
            {
                std::lock_guard<std::mutex> lock(b->mutex);
                batch.swap(b->data);
            }
            write_out(batch);
        }
        if (reopen_.exchange(false) && config_.access == config::AccessLogTarget::File) {
            const int fd = ::open(config_.access_path.c_str(),
                                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
            if (fd >= 0) {
                ::close(fd_);
                fd_ = fd;
            }
        }
        {
            std::lock_guard<std::mutex> lock(wake_mutex_);
            flushes_done_ = flush_ticket;
        }
        flushed_.notify_all();
        if (stopping) {
            return;
        }
    }
}

} // namespace lacquer::proxy
