// The origin's threads: one acceptor, one per connection. Shutdown never closes a socket another
// thread is using; instead every poll also watches the stop pipe, and handler waits (Gate, Barrier,
// sleep_for) watch the origin's StopFlag, so all threads leave promptly and close their own fds.
#include "support/scripted_origin.h"

#include "lacquer/core/errno_text.h"
#include "support/http_message_parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::test {

namespace {

using namespace std::chrono_literals;

// Long enough for any sane test, short enough that a stuck peer cannot hang the run.
constexpr Millis kSendTimeout{30'000};
constexpr Millis kMaxSleep{30'000};

struct ReasonPhrase {
    int status;
    const char* text;
};
constexpr ReasonPhrase kReasonPhrases[] = {
    {100, "Continue"},        {200, "OK"},
    {201, "Created"},         {204, "No Content"},
    {206, "Partial Content"}, {301, "Moved Permanently"},
    {302, "Found"},           {304, "Not Modified"},
    {400, "Bad Request"},     {403, "Forbidden"},
    {404, "Not Found"},       {500, "Internal Server Error"},
    {502, "Bad Gateway"},     {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char* reason_phrase(int status) {
    for (const ReasonPhrase& phrase : kReasonPhrases) {
        if (phrase.status == status) {
            return phrase.text;
        }
    }
    return "Scripted";
}

std::string status_line_and_headers(int status, const HeaderFields& headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
    for (const auto& [name, value] : headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    return out;
}

// RFC 9110 §6.4.1: these never have a body, so they get no framing headers either.
bool status_has_no_body(int status) {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

bool has_token(const HeaderFields& headers, std::string_view name, std::string_view token) {
    for (const std::string& value : header_values(headers, name)) {
        if (iequals(value, token)) {
            return true;
        }
    }
    return false;
}

} // namespace

// ---- OriginExchange ----

void OriginExchange::write(std::string_view bytes) {
    if (!is_connected() || bytes.empty()) {
        return;
    }
    if (send_all(fd_.get(), bytes, Deadline(kSendTimeout), stop_fd_) != IoStatus::Ok) {
        failed_ = true; // the peer went away; later writes are dropped, the connection ends
    }
}

void OriginExchange::respond(int status, const HeaderFields& headers, std::string_view body) {
    HeaderFields all = headers;
    const bool framed = find_header(headers, "Content-Length").has_value() ||
                        find_header(headers, "Transfer-Encoding").has_value();
    if (!framed && !status_has_no_body(status)) {
        all.emplace_back("Content-Length", std::to_string(body.size()));
    }
    std::string out = status_line_and_headers(status, all) + "\r\n";
    if (request_.method != "HEAD" && !status_has_no_body(status)) {
        out += body;
    }
    responded_ = true;
    body_finished_ = true;
    close_after_ = close_after_ || has_token(headers, "Connection", "close");
    write(out);
}

void OriginExchange::send(int status, std::string_view body) {
    respond(status, {{"Content-Type", "text/plain"}}, body);
}

void OriginExchange::send_head(int status, const HeaderFields& headers) {
    HeaderFields all = headers;
    close_after_ = close_after_ || has_token(headers, "Connection", "close");
    if (status_has_no_body(status)) {
        framing_ = Framing::None;
    } else if (find_header(headers, "Content-Length")) {
        framing_ = Framing::Length;
    } else if (find_header(headers, "Transfer-Encoding")) {
        framing_ = Framing::Chunked;
    } else if (close_after_) {
        framing_ = Framing::UntilClose;
    } else {
        framing_ = Framing::Chunked;
        all.emplace_back("Transfer-Encoding", "chunked");
    }
    if (request_.method == "HEAD") {
        framing_ = Framing::None; // nothing may follow the head
    }
    responded_ = true;
    write(status_line_and_headers(status, all) + "\r\n");
}

void OriginExchange::send_body_chunk(std::string_view data) {
    if (framing_ == Framing::Chunked) {
        if (data.empty()) {
            return; // an empty chunk would end the body
        }
        char size[32];
        const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        std::string out(size, static_cast<std::size_t>(n));
        out += data;
        out += "\r\n";
        write(out);
    } else if (framing_ != Framing::None) {
        write(data);
    }
}

void OriginExchange::finish_body() {
    if (body_finished_) {
        return;
    }
    body_finished_ = true;
    if (framing_ == Framing::Chunked) {
        write("0\r\n\r\n");
    }
}

void OriginExchange::send_body(std::string_view data) {
    send_body_chunk(data);
    finish_body();
}

void OriginExchange::send_raw(std::string_view bytes) {
    responded_ = true;
    body_finished_ = true;
    write(bytes);
}

void OriginExchange::close() {
    responded_ = true;
    body_finished_ = true;
    if (fd_.valid()) {
        (void)::shutdown(fd_.get(), SHUT_RDWR);
        fd_.reset();
    }
}

void OriginExchange::reset() {
    responded_ = true;
    body_finished_ = true;
    close_with_reset(fd_);
}

bool OriginExchange::sleep_for(Millis duration) {
    return detail::interruptible_sleep(std::min(duration, kMaxSleep));
}

bool OriginExchange::wait_for_close(Millis timeout) {
    if (!fd_.valid()) {
        return true;
    }
    const Deadline deadline(std::min(timeout, kMaxSleep));
    for (;;) {
        // POLLRDHUP: the peer's FIN, even with unread bytes before it; POLLHUP/POLLERR: a reset.
        pollfd fds[2] = {{fd_.get(), POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}};
        const int n = ::poll(fds, stop_fd_ >= 0 ? 2 : 1, deadline.poll_timeout_ms());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || (fds[1].revents & POLLIN) != 0) {
            return false; // the deadline, or the origin is stopping
        }
        if ((fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
            return true;
        }
    }
}

// ---- ScriptedOrigin ----

ScriptedOrigin::ScriptedOrigin(std::uint16_t port) : port_(port) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "ScriptedOrigin: pipe2: " << core::errno_text(errno);
        return;
    }
    stop_read_.reset(pipe_fds[0]);
    stop_write_.reset(pipe_fds[1]);
    std::string error;
    listener_ = listen_loopback(port_, error);
    if (!listener_.valid()) {
        ADD_FAILURE() << "ScriptedOrigin could not listen: " << error;
        return;
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedOrigin::~ScriptedOrigin() {
    stop();
}

std::string ScriptedOrigin::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

void ScriptedOrigin::stop() {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    if (stop_write_.valid()) {
        const char byte = 1;
        (void)!::write(stop_write_.get(), &byte, 1);
    }
    detail::raise_stop_flag(*stop_flag_);
    if (acceptor_.joinable()) {
        acceptor_.join();
    }
    // The acceptor is gone, so the list only shrinks now; join outside the lock because finishing
    // connection threads take it to record themselves as done.
    std::vector<std::thread> threads;
    {
        const std::lock_guard lock(mutex_);
        for (Connection& conn : connections_) {
            threads.push_back(std::move(conn.thread));
        }
    }
    for (std::thread& thread : threads) {
        if (thread.joinable()) {
            thread.join();
        }
    }
    const std::lock_guard lock(mutex_);
    connections_.clear();
    listener_.reset();
}

void ScriptedOrigin::on(std::string_view method, std::string_view target, OriginHandler handler) {
    const std::lock_guard lock(mutex_);
    handlers_[{std::string(method), std::string(target)}] = std::move(handler);
}

void ScriptedOrigin::on_any(OriginHandler handler) {
    const std::lock_guard lock(mutex_);
    default_handler_ = std::move(handler);
}

void ScriptedOrigin::clear_handlers() {
    const std::lock_guard lock(mutex_);
    handlers_.clear();
    default_handler_ = nullptr;
}

std::size_t ScriptedOrigin::count(std::string_view target) const {
    const std::lock_guard lock(mutex_);
    const auto it = counts_.find(target);
    return it == counts_.end() ? 0 : it->second;
}

std::size_t ScriptedOrigin::total_requests() const {
    const std::lock_guard lock(mutex_);
    return requests_.size();
}

std::size_t ScriptedOrigin::connections_accepted() const {
    const std::lock_guard lock(mutex_);
    return accepted_;
}

std::size_t ScriptedOrigin::open_connections() const {
    const std::lock_guard lock(mutex_);
    return open_;
}

std::vector<ReceivedRequest> ScriptedOrigin::requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
}

std::optional<ReceivedRequest> ScriptedOrigin::last_request() const {
    const std::lock_guard lock(mutex_);
    if (requests_.empty()) {
        return std::nullopt;
    }
    return requests_.back();
}

void ScriptedOrigin::clear_records() {
    const std::lock_guard lock(mutex_);
    requests_.clear();
    counts_.clear();
}

bool ScriptedOrigin::wait_for_requests(std::size_t total, Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.at(), [&] { return requests_.size() >= total; });
}

bool ScriptedOrigin::wait_for_count(std::string_view target, std::size_t n, Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.at(), [&] {
        const auto it = counts_.find(target);
        return it != counts_.end() && it->second >= n;
    });
}

bool ScriptedOrigin::wait_for_connections(std::size_t accepted, Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.at(), [&] { return accepted_ >= accepted; });
}

void ScriptedOrigin::reap_finished_locked(std::vector<std::thread>& to_join) {
    for (auto it = connections_.begin(); it != connections_.end();) {
        if (it->done) {
            to_join.push_back(std::move(it->thread));
            it = connections_.erase(it);
        } else {
            ++it;
        }
    }
}

void ScriptedOrigin::accept_loop() {
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        if (fds[1].revents != 0) {
            return;
        }
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!fd.valid()) {
            continue; // ECONNABORTED and friends: the next poll decides
        }
        std::vector<std::thread> finished;
        {
            const std::lock_guard lock(mutex_);
            reap_finished_locked(finished);
            const std::uint64_t id = ++accepted_;
            ++open_;
            Connection& conn = connections_.emplace_back();
            conn.fd = std::move(fd);
            conn.thread = std::thread([this, &conn, id] { serve(conn, id); });
            changed_.notify_all();
        }
        for (std::thread& thread : finished) {
            thread.join();
        }
    }
}

void ScriptedOrigin::serve(Connection& conn, std::uint64_t id) {
    detail::set_thread_stop_flag(stop_flag_);
    MessageParser parser(MessageParser::Kind::Request);
    std::string buffer;
    bool open = true;
    while (open && conn.fd.valid()) {
        // Idle keep-alive connections wait for as long as the origin lives; the stop pipe ends it.
        std::size_t used = 0;
        MessageParser::Result result = parser.feed(buffer, used);
        buffer.erase(0, used);
        if (result == MessageParser::Result::NeedMore) {
            const IoStatus io =
                read_some(conn.fd.get(), buffer, Deadline(Millis(24h)), stop_read_.get());
            if (io == IoStatus::Ok) {
                continue;
            }
            if (io != IoStatus::Eof || !parser.started()) {
                break;
            }
            result = parser.finish(); // a truncated request ends in an error below
        }
        if (result == MessageParser::Result::Error) {
            const std::string reply = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                                      "Content-Length: 0\r\n\r\n";
            (void)send_all(conn.fd.get(), reply, Deadline(Millis(1000)), stop_read_.get());
            break;
        }
        ParsedMessage msg = parser.take_message();
        ReceivedRequest request;
        request.method = std::move(msg.method);
        request.target = std::move(msg.target);
        request.path = request.target.substr(0, request.target.find('?'));
        request.headers = std::move(msg.headers);
        request.body = std::move(msg.body);
        request.chunked = msg.chunked;
        request.http_minor = msg.http_minor;
        request.connection = id;
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(request);
            ++counts_[request.target];
            changed_.notify_all();
        }
        run_handler(conn, request);
        open = msg.keep_alive;
    }
    conn.fd.reset();
    detail::set_thread_stop_flag(nullptr);
    const std::lock_guard lock(mutex_);
    conn.done = true;
    --open_;
    changed_.notify_all();
}

OriginHandler ScriptedOrigin::find_handler(const ReceivedRequest& request) const {
    const std::lock_guard lock(mutex_);
    auto it = handlers_.find({request.method, request.target});
    if (it == handlers_.end()) {
        it = handlers_.find({request.method, request.path});
    }
    if (it != handlers_.end()) {
        return it->second;
    }
    return default_handler_;
}

void ScriptedOrigin::run_handler(Connection& conn, const ReceivedRequest& request) {
    OriginExchange exchange(conn.fd, stop_read_.get(), request);
    const OriginHandler handler = find_handler(request);
    if (handler) {
        handler(exchange);
    } else {
        exchange.send(404, "ScriptedOrigin: no handler for " + request.method + " " +
                               request.target + "\n");
    }
    if (!exchange.has_responded()) {
        // Silence would look like an origin timeout to the proxy; say plainly what happened.
        exchange.send(500, "ScriptedOrigin: the handler for " + request.method + " " +
                               request.target + " sent nothing\n");
    }
    exchange.finish_body();
    if (exchange.wants_close() || !exchange.is_connected() ||
        exchange.framing_ == OriginExchange::Framing::UntilClose) {
        exchange.close();
    }
}

} // namespace lacquer::test
