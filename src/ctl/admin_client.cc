// Blocking sockets with poll(2) against one deadline; the answer's head goes through the
// project's own HTTP parser, so framing is read exactly as lacquerd writes it.
#include "ctl/admin_client.h"

#include "lacquer/config/config.h"
#include "lacquer/core/errno_text.h"
#include "lacquer/http/chunked.h"
#include "lacquer/http/head_parser.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::ctl {

namespace {

using Clock = std::chrono::steady_clock;

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

// Waits until `fd` is ready for `events`: 1 ready, 0 the deadline passed, -1 poll failed.
int wait_ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return 0;
        }
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
}

std::string ms_text(std::chrono::milliseconds timeout) {
    return std::to_string(timeout.count()) + " ms";
}

// A connected non-blocking socket, or -1 with `error` set. Tries every address of the name.
int connect_to(const Endpoint& endpoint, Clock::time_point deadline,
               std::chrono::milliseconds timeout, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(endpoint.port);
    const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        error = "cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc);
        return -1;
    }
    error = "cannot connect to " + endpoint.text() + ": no address";
    int connected = -1;
    for (const addrinfo* a = found; a != nullptr && connected < 0; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            error = "cannot connect to " + endpoint.text() + ": " + core::errno_text(errno);
            continue;
        }
        int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            const int ready = wait_ready(fd, POLLOUT, deadline);
            socklen_t len = sizeof err;
            if (ready == 0) {
                err = ETIMEDOUT;
            } else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                err = errno;
            }
        }
        if (err == 0) {
            connected = fd;
        } else {
            ::close(fd);
            error = "cannot connect to " + endpoint.text() + ": " +
                    (err == ETIMEDOUT ? "timed out after " + ms_text(timeout)
                                      : std::string(core::errno_text(err)));
        }
    }
    ::freeaddrinfo(found);
    return connected;
}

bool send_all(int fd, std::string_view bytes, Clock::time_point deadline, std::string& error) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_ready(fd, POLLOUT, deadline) == 1) {
                continue;
            }
            error = "timed out sending the request";
            return false;
        }
        error = std::string("cannot send the request: ") + core::errno_text(errno);
        return false;
    }
    return true;
}

// Reads the answer: its head through HeadParser, then a Content-Length body or one that ends
// when the listener closes.
std::optional<AdminAnswer> read_answer(int fd, std::string_view method, Clock::time_point deadline,
                                       std::string& error) {
    http::HeadParser parser(http::HeadKind::Response, http::HeadLimits{64 * 1024, 8 * 1024});
    parser.expect_response_to(method);
    std::optional<AdminAnswer> answer;
    http::Framing framing;
    char buffer[16 * 1024];
    for (;;) {
        if (answer && framing.kind == http::Framing::Kind::Length &&
            answer->body.size() >= framing.length) {
            answer->body.resize(framing.length);
            return answer;
        }
        if (answer && framing.kind == http::Framing::Kind::None) {
            return answer;
        }
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_ready(fd, POLLIN, deadline) == 1) {
                continue;
            }
            error = "timed out waiting for the answer";
            return std::nullopt;
        }
        if (n < 0) {
            error = std::string("cannot read the answer: ") + core::errno_text(errno);
            return std::nullopt;
        }
        const auto size = static_cast<std::size_t>(n);
        if (size == 0) { // the listener closed: complete only if nothing more was due
            if (answer && framing.kind == http::Framing::Kind::UntilClose) {
                return answer;
            }
            error = answer ? "the answer was cut short" : "the connection closed without an answer";
            return std::nullopt;
        }
        if (answer) {
            answer->body.append(buffer, size);
            continue;
        }
        const http::HeadParser::Fed fed = parser.feed(buffer, size);
        if (fed.status == http::HeadParser::Status::Error) {
            error =
                "not an HTTP answer (" + std::string(http::head_error_name(parser.error())) + ")";
            return std::nullopt;
        }
        if (fed.status == http::HeadParser::Status::Complete) {
            framing = parser.response().framing;
            if (framing.kind == http::Framing::Kind::Chunked) {
                error = "a chunked answer, which the admin listener never sends";
                return std::nullopt;
            }
            answer.emplace();
            answer->status = parser.response().status;
            answer->body.assign(buffer + fed.consumed, size - fed.consumed);
        }
    }
}

} // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    std::string problem;
    return config::parse_host_port(text, 1, problem);
}

Exchange exchange(const Endpoint& endpoint, std::string_view method, std::string_view target,
                  std::string_view token, std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    Exchange out;
    const Socket socket(connect_to(endpoint, deadline, timeout, out.error));
    if (socket.fd() < 0) {
        return out;
    }
    std::string request;
    request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
    request.append(endpoint.text()).append("\r\nUser-Agent: lacquerctl\r\n");
    if (!token.empty()) {
        request.append("Authorization: Bearer ").append(token).append("\r\n");
    }
    // POST without a body still says so, as HTTP/1.1 asks of a method that usually has one.
    request.append(method == "POST" ? "Content-Length: 0\r\n" : "");
    request.append("Connection: close\r\n\r\n");
    std::string error;
    if (send_all(socket.fd(), request, deadline, error)) {
        out.answer = read_answer(socket.fd(), method, deadline, error);
    }
    if (!out.answer) {
        out.error = endpoint.text() + ": " + error;
        if (error.starts_with("timed out")) {
            out.error += " (after " + ms_text(timeout) + ")";
        }
    }
    return out;
}

namespace {

// The body of a stream as it arrives: chunked (decoded) or until the listener closes.
class StreamBody {
public:
    StreamBody(const http::Framing& framing, const std::function<bool(std::string_view)>& take)
        : chunked_(framing.kind == http::Framing::Kind::Chunked), take_(take) {}
    // False: the stream is over (its end, an error, or `take` said so); `error` set on an error.
    bool feed(std::string_view bytes, std::string& error) {
        if (!chunked_) {
            return bytes.empty() || take_(bytes);
        }
        while (!bytes.empty()) {
            const http::ChunkedDecoder::Step step = decoder_.next(bytes);
            bytes.remove_prefix(step.consumed);
            switch (step.status) {
            case http::ChunkedDecoder::Status::NeedMore:
                return true;
            case http::ChunkedDecoder::Status::Done:
                return false;
            case http::ChunkedDecoder::Status::Error:
                error = "the stream's chunked framing is broken";
                return false;
            case http::ChunkedDecoder::Status::Data: {
                const std::size_t n = static_cast<std::size_t>(
                    std::min<std::uint64_t>(decoder_.data_pending(), bytes.size()));
                decoder_.data_taken(n);
                const std::string_view data = bytes.substr(0, n);
                bytes.remove_prefix(n);
                if (!data.empty() && !take_(data)) {
                    return false;
                }
                break;
            }
            }
        }
        return true;
    }

private:
    bool chunked_;
    const std::function<bool(std::string_view)>& take_;
    http::ChunkedDecoder decoder_;
};

} // namespace

StreamEnd stream(const Endpoint& endpoint, std::string_view target, std::string_view token,
                 std::chrono::milliseconds timeout, Clock::time_point until,
                 const std::function<bool(std::string_view)>& take) {
    constexpr std::chrono::milliseconds kTick{250};
    Clock::time_point deadline = Clock::now() + timeout;
    StreamEnd out;
    const Socket socket(connect_to(endpoint, deadline, timeout, out.error));
    if (socket.fd() < 0) {
        return out;
    }
    out.error.clear(); // connect_to() leaves its last note
    std::string request = "GET ";
    request.append(target).append(" HTTP/1.1\r\nHost: ").append(endpoint.text());
    request.append("\r\nUser-Agent: lacquerctl\r\n");
    if (!token.empty()) {
        request.append("Authorization: Bearer ").append(token).append("\r\n");
    }
    request.append("Connection: close\r\n\r\n");
    if (!send_all(socket.fd(), request, deadline, out.error)) {
        out.error = endpoint.text() + ": " + out.error;
        return out;
    }
    http::HeadParser parser(http::HeadKind::Response, http::HeadLimits{64 * 1024, 8 * 1024});
    parser.expect_response_to("GET");
    std::optional<StreamBody> body;
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // While streaming, `take` hears nothing (an empty view) at least every kTick.
            const Clock::time_point wake = body ? std::min(until, Clock::now() + kTick) : deadline;
            const int ready = wait_ready(socket.fd(), POLLIN, wake);
            if (ready == 1) {
                continue;
            }
            if (ready == 0 && body) {
                if (Clock::now() >= until || !take({})) {
                    return out; // the caller has what it wanted
                }
                continue;
            }
            out.error = endpoint.text() + ": timed out waiting for the answer (after " +
                        ms_text(timeout) + ")";
            out.status = 0;
            return out;
        }
        if (n <= 0) {
            if (n < 0) {
                out.error = std::string("cannot read the answer: ") + core::errno_text(errno);
            } else if (!body && out.status == 0) {
                out.error = endpoint.text() + ": the connection closed without an answer";
            }
            return out;
        }
        std::string_view bytes(buffer, static_cast<std::size_t>(n));
        if (!body && out.status == 0) {
            const http::HeadParser::Fed fed = parser.feed(bytes.data(), bytes.size());
            if (fed.status == http::HeadParser::Status::Error) {
                out.error = endpoint.text() + ": not an HTTP answer";
                return out;
            }
            if (fed.status != http::HeadParser::Status::Complete) {
                continue;
            }
            bytes.remove_prefix(fed.consumed);
            out.status = parser.response().status;
            if (out.status == 200) {
                body.emplace(parser.response().framing, take);
            }
        }
        if (!body) { // an error answer: its message, until the listener closes
            out.body.append(bytes);
            continue;
        }
        if (!body->feed(bytes, out.error)) {
            return out;
        }
    }
}

} // namespace lacquer::ctl
