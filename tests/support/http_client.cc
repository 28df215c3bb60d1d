// HttpClient: request bytes out, one strictly parsed response in, with leftovers kept for the
// next response. ConcurrentGets spreads n connections over a few threads: each thread opens and
// writes all of its connections first, then reads them, so all n requests are in flight at once.
#include "support/http_client.h"

#include "support/http_message_parser.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <sys/socket.h>

namespace lacquer::test {

std::string Response::summary() const {
    std::string out = std::to_string(status);
    if (complete) {
        out += " complete";
    } else {
        out += " INCOMPLETE (" + (error.empty() ? std::string("no error recorded") : error) + ")";
    }
    out += ", " + std::to_string(headers.size()) + " headers, body " + std::to_string(body.size()) +
           " bytes";
    if (closed) {
        out += ", connection closed";
    }
    return out;
}

std::string build_request(std::string_view method, std::string_view target,
                          const HeaderFields& headers, std::string_view body,
                          std::string_view host) {
    std::string out;
    out.reserve(128 + body.size());
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    if (!find_header(headers, "Host")) {
        out.append("Host: ").append(host).append("\r\n");
    }
    for (const auto& [name, value] : headers) {
        out.append(name).append(": ").append(value).append("\r\n");
    }
    const bool usually_has_body = method == "POST" || method == "PUT" || method == "PATCH";
    if ((!body.empty() || usually_has_body) && !find_header(headers, "Content-Length") &&
        !find_header(headers, "Transfer-Encoding")) {
        out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    return out;
}

bool HttpClient::connect(std::uint16_t port, Millis timeout, std::string_view host) {
    close();
    error_.clear();
    fd_ = connect_tcp(host, port, timeout, error_);
    host_header_ = std::string(host) + ":" + std::to_string(port);
    return fd_.valid();
}

bool HttpClient::send_raw(std::string_view bytes, Millis timeout) {
    if (!fd_.valid()) {
        error_ = "send: not connected";
        return false;
    }
    const IoStatus io = send_all(fd_.get(), bytes, Deadline(timeout));
    if (io != IoStatus::Ok) {
        error_ = std::string("send: ") + io_status_name(io);
        return false;
    }
    return true;
}

Response HttpClient::read_response(Millis timeout, std::string_view request_method) {
    return read_until(Deadline(timeout), timeout, request_method);
}

Response HttpClient::read_until(const Deadline& deadline, Millis budget,
                                std::string_view request_method) {
    Response out;
    MessageParser parser(MessageParser::Kind::Response);
    if (request_method == "HEAD") {
        parser.expect_no_body();
    }
    for (;;) {
        std::size_t used = 0;
        MessageParser::Result result = parser.feed(buffer_, used);
        buffer_.erase(0, used);
        if (result == MessageParser::Result::NeedMore) {
            IoStatus io = IoStatus::Eof;
            if (fd_.valid() && !peer_closed_) {
                io = read_some(fd_.get(), buffer_, deadline);
            }
            if (io == IoStatus::Ok) {
                continue;
            }
            if (io == IoStatus::Timeout) {
                out.timed_out = true;
                out.error = "no complete response within " + std::to_string(budget.count()) +
                            " ms (" + std::to_string(buffer_.size()) + " unparsed bytes)";
                return out;
            }
            if (io == IoStatus::Error) {
                out.error = "read failed";
                return out;
            }
            peer_closed_ = true;
            out.closed = true;
            result = parser.finish();
        }
        if (result == MessageParser::Result::Error) {
            out.error = fd_.valid() ? parser.error() : "not connected";
            return out;
        }
        ParsedMessage msg = parser.take_message();
        out.status = msg.status;
        out.reason = std::move(msg.reason);
        out.http_minor = msg.http_minor;
        out.headers = std::move(msg.headers);
        out.body = std::move(msg.body);
        out.chunked = msg.chunked;
        out.complete = true;
        if (!msg.keep_alive && !out.closed && buffer_.empty()) {
            // The server said it will close; record that it did if the FIN is already here.
            out.closed = is_closed_by_peer(Millis(0));
        }
        return out;
    }
}

Response HttpClient::request(std::string_view method, std::string_view target,
                             const HeaderFields& headers, std::string_view body, Millis timeout) {
    const Deadline deadline(timeout);
    if (!send_raw(build_request(method, target, headers, body, host_header_), timeout)) {
        Response out;
        out.error = error_;
        out.closed = !fd_.valid() || peer_closed_;
        return out;
    }
    return read_until(deadline, timeout, method);
}

bool HttpClient::received_contains(std::string_view needle, Millis timeout) {
    const Deadline deadline(timeout);
    while (buffer_.find(needle) == std::string::npos) {
        if (!fd_.valid() || peer_closed_) {
            return false;
        }
        const IoStatus io = read_some(fd_.get(), buffer_, deadline);
        if (io == IoStatus::Eof || io == IoStatus::Error) {
            peer_closed_ = true;
        } else if (io != IoStatus::Ok) {
            return false; // the deadline passed
        }
    }
    return true;
}

bool HttpClient::is_closed_by_peer(Millis timeout) {
    if (!fd_.valid() || peer_closed_) {
        return true;
    }
    const Deadline deadline(timeout);
    for (;;) {
        const IoStatus io = read_some(fd_.get(), buffer_, deadline);
        if (io == IoStatus::Ok) {
            continue; // data is not a close; keep it and keep waiting
        }
        if (io == IoStatus::Eof || io == IoStatus::Error) {
            peer_closed_ = true;
            return true;
        }
        return false;
    }
}

void HttpClient::shutdown_write() {
    if (fd_.valid()) {
        (void)::shutdown(fd_.get(), SHUT_WR);
    }
}

void HttpClient::close() {
    fd_.reset();
    buffer_.clear();
    peer_closed_ = false;
}

void HttpClient::reset() {
    close_with_reset(fd_);
    buffer_.clear();
    peer_closed_ = false;
}

Response http_get(std::uint16_t port, std::string_view target, const HeaderFields& headers,
                  Millis timeout) {
    const Deadline deadline(timeout);
    HttpClient client;
    if (!client.connect(port, timeout)) {
        Response out;
        out.error = client.last_error();
        return out;
    }
    return client.request("GET", target, headers, {}, deadline.remaining());
}

// ---- ConcurrentGets ----

struct ConcurrentGets::State {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<Response> responses;
    std::vector<bool> done;
    int sent = 0;
};

namespace {

constexpr int kMaxClientThreads = 4;

} // namespace

ConcurrentGets::ConcurrentGets(std::uint16_t port, std::string target, int n, HeaderFields headers,
                               Millis per_request_timeout)
    : state_(std::make_shared<State>()) {
    state_->responses.resize(static_cast<std::size_t>(std::max(n, 0)));
    state_->done.resize(state_->responses.size(), false);
    const int thread_count = std::clamp(n, 0, kMaxClientThreads);
    for (int t = 0; t < thread_count; ++t) {
        threads_.emplace_back([=, state = state_] {
            const Deadline deadline(per_request_timeout);
            std::vector<std::pair<int, HttpClient>> clients;
            for (int i = t; i < n; i += thread_count) {
                HttpClient client;
                bool ok = client.connect(port, deadline.remaining());
                if (ok) {
                    const std::string host = "127.0.0.1:" + std::to_string(port);
                    ok = client.send_raw(build_request("GET", target, headers, {}, host),
                                         deadline.remaining());
                }
                const std::lock_guard lock(state->mutex);
                ++state->sent;
                state->changed.notify_all();
                if (ok) {
                    clients.emplace_back(i, std::move(client));
                } else {
                    auto& slot = state->responses[static_cast<std::size_t>(i)];
                    slot.error = "request " + std::to_string(i) + ": " + client.last_error();
                    state->done[static_cast<std::size_t>(i)] = true;
                }
            }
            for (auto& [i, client] : clients) {
                Response response = client.read_response(deadline.remaining());
                const std::lock_guard lock(state->mutex);
                state->responses[static_cast<std::size_t>(i)] = std::move(response);
                state->done[static_cast<std::size_t>(i)] = true;
                state->changed.notify_all();
            }
        });
    }
}

ConcurrentGets::~ConcurrentGets() {
    for (std::thread& thread : threads_) {
        thread.join();
    }
}

bool ConcurrentGets::wait_all_sent(Millis timeout) {
    const Deadline deadline(timeout);
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_until(lock, deadline.at(), [&] {
        return static_cast<std::size_t>(state_->sent) >= state_->responses.size();
    });
}

std::vector<Response> ConcurrentGets::collect(Millis timeout) {
    const Deadline deadline(timeout);
    std::unique_lock lock(state_->mutex);
    state_->changed.wait_until(lock, deadline.at(), [&] {
        return std::all_of(state_->done.begin(), state_->done.end(), [](bool d) { return d; });
    });
    std::vector<Response> out = state_->responses;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!state_->done[i]) {
            out[i].timed_out = true;
            out[i].error = "collect: deadline passed before response " + std::to_string(i);
        }
    }
    return out;
}

std::vector<Response> get_concurrently(std::uint16_t port, std::string_view target, int n,
                                       Millis timeout, const HeaderFields& headers) {
    ConcurrentGets gets(port, std::string(target), n, headers, timeout);
    return gets.collect(timeout);
}

} // namespace lacquer::test
