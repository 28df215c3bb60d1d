#include "lacquer/proxy/access_log.h"

#include "lacquer/core/errno_text.h"
#include "lacquer/proxy/request_fsm.h"

#include <cerrno>
#include <chrono>
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

// The length of the well-formed UTF-8 sequence at the front of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence(std::string_view s) {
    const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    std::size_t n = 0;
    unsigned char lo = 0x80; // the second byte's range, narrowed for the first bytes below
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        lo = b0 == 0xe0 ? 0xa0 : 0x80; // overlong
        hi = b0 == 0xed ? 0x9f : 0xbf; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        lo = b0 == 0xf0 ? 0x90 : 0x80; // overlong
        hi = b0 == 0xf4 ? 0x8f : 0xbf; // past U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi) {
        return 0;
    }
    for (std::size_t i = 2; i < n; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xbf) {
            return 0;
        }
    }
    return n;
}

// Quotes and control bytes as \xHH, as nginx does, so a line can never be split or forged. In
// JSON: well-formed UTF-8 goes as it is (a parser reads back the same characters); a byte that
// is not part of one becomes \udcXX, the lone surrogate that Python's surrogateescape and
// others read back as that byte (strict parsers read U+FFFD): nothing is lost or reinterpreted
// as Latin-1.
void append_escaped(std::string& out, std::string_view v, bool json) {
    if (v.empty() && !json) {
        out.push_back('-');
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        const auto u = static_cast<unsigned char>(c);
        if (json && u >= 0x80) {
            const std::size_t n = utf8_sequence(v.substr(i));
            if (n > 0) {
                out.append(v.substr(i, n));
                i += n - 1;
            } else {
                out.append("\\udc");
                out.push_back(kHex[u >> 4]);
                out.push_back(kHex[u & 15]);
            }
        } else if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
            out.append(json ? "\\u00" : "\\x");
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

} // namespace

std::unique_ptr<AccessLog> AccessLog::open(const config::LogConfig& config, unsigned workers) {
    if (config.access == config::AccessLogTarget::Off) {
        return nullptr;
    }
    return std::unique_ptr<AccessLog>(new AccessLog(config, workers, open_target(config)));
}

AccessLog::AccessLog(const config::LogConfig& config, unsigned workers, int fd)
    : config_(config), fd_(fd) {
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
    if (config_.format == config::AccessLogFormat::Json) {
        format_json(b, entry);
    } else {
        format_combined(b, entry);
    }
}

void AccessLog::format_combined(Buffer& b, const AccessLogEntry& e) {
    if (e.unix_time != b.cached_second) {
        const std::time_t t = e.unix_time;
        std::tm tm{};
        gmtime_r(&t, &tm);
        b.cached_time_length =
            std::strftime(b.cached_time, sizeof b.cached_time, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        b.cached_second = e.unix_time;
    }
    std::string& o = b.data;
    o.append(e.client.empty() ? std::string_view("-") : e.client);
    o.append(" - - ");
    o.append(b.cached_time, b.cached_time_length);
    o.append(" \"");
    append_escaped(o, e.method, false);
    o.push_back(' ');
    append_escaped(o, e.target, false);
    o.append(e.version_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    o.append(std::to_string(e.status));
    o.push_back(' ');
    o.append(std::to_string(e.body_bytes));
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
    o.push_back('\n');
}

void AccessLog::format_json(Buffer& b, const AccessLogEntry& e) {
    std::string& o = b.data;
    o.append("{\"time\":");
    o.append(std::to_string(e.unix_time));
    o.append(",\"client\":\"");
    append_escaped(o, e.client, true);
    o.append("\",\"method\":\"");
    append_escaped(o, e.method, true);
    o.append("\",\"target\":\"");
    append_escaped(o, e.target, true);
    o.append(e.version_minor == 0 ? "\",\"protocol\":\"HTTP/1.0\""
                                  : "\",\"protocol\":\"HTTP/1.1\"");
    o.append(",\"status\":");
    o.append(std::to_string(e.status));
    o.append(",\"bytes\":");
    o.append(std::to_string(e.body_bytes));
    o.append(",\"referer\":\"");
    append_escaped(o, e.referer, true);
    o.append("\",\"user_agent\":\"");
    append_escaped(o, e.user_agent, true);
    o.append("\",\"cache\":\"");
    o.append(e.cache_status);
    o.append("\",\"route\":\"");
    append_escaped(o, e.route, true);
    o.append("\",\"origin_ms\":");
    if (e.origin_ms < 0) {
        o.append("null");
    } else {
        append_ms(o, e.origin_ms);
    }
    o.append(",\"total_ms\":");
    append_ms(o, e.total_ms);
    if (!e.tls_version.empty()) {
        o.append(",\"tls\":\"");
        o.append(e.tls_version);
        o.append("\",\"sni\":\"");
        append_escaped(o, e.sni, true);
        o.push_back('"');
    }
    if (e.steps != nullptr) {
        o.append(",\"steps\":\"");
        e.steps->append_trace(o); // step names and numbers: nothing to escape
        o.push_back('"');
    }
    o.append("}\n");
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
