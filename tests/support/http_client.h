#pragma once
// A blocking HTTP/1.1 client over one TCP connection, for talking to lacquerd (or any server) the
// way a test needs: exact bytes out, every response detail in, and bounded waits. Responses are
// parsed strictly with llhttp; bytes after one response stay buffered for the next (pipelining).
// Not thread-safe: one client per thread.

#include "support/deadline.h"
#include "support/header_fields.h"
#include "support/socket_io.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lacquer::test {

struct Response : HeaderLookup<Response> {
    int status = 0;
    std::string reason;
    int http_minor = 1;
    HeaderFields headers;
    std::string body;      // decoded (chunked framing removed)
    bool chunked = false;  // the body came with Transfer-Encoding: chunked
    bool complete = false; // a whole response was read
    bool closed = false;   // the peer closed the connection while or right after it was read
    bool timed_out = false;
    std::string error; // why the response is not complete, for failure messages

    // One line for assertion messages: "200 complete, 5 headers, body 42 bytes" or the error.
    std::string summary() const;
};

// The name STYLE.md's examples use for a response read by a test.
using Reply = Response;

// "METHOD target HTTP/1.1" plus Host (unless given), the headers, Content-Length when there is a
// body or the method usually has one, and the body.
std::string build_request(std::string_view method, std::string_view target,
                          const HeaderFields& headers = {}, std::string_view body = {},
                          std::string_view host = "127.0.0.1");

class HttpClient {
public:
    HttpClient() = default;
    HttpClient(HttpClient&&) = default;
    HttpClient& operator=(HttpClient&&) = default;

    // Connects (closing any previous connection). False + last_error() on failure.
    [[nodiscard]] bool connect(std::uint16_t port, Millis timeout = 5s,
                               std::string_view host = "127.0.0.1");
    bool is_connected() const { return fd_.valid(); }
    const std::string& last_error() const { return error_; }

    [[nodiscard]] bool send_raw(std::string_view bytes, Millis timeout = 5s);

    // Reads one response. `request_method` tells whether it answers a HEAD (no body follows).
    Response read_response(Millis timeout = 5s, std::string_view request_method = "GET");

    // Sends one request on this connection (keep-alive unless `headers` say otherwise) and reads
    // its response. Does not reconnect: a closed connection yields an incomplete response.
    Response request(std::string_view method, std::string_view target,
                     const HeaderFields& headers = {}, std::string_view body = {},
                     Millis timeout = 5s);
    Response get(std::string_view target, const HeaderFields& headers = {}, Millis timeout = 5s) {
        return request("GET", target, headers, {}, timeout);
    }

    // Reads until the bytes received (and not yet parsed) contain `needle`, within `timeout`;
    // they stay for read_response(). Shows that part of an answer arrived before the rest.
    [[nodiscard]] bool received_contains(std::string_view needle, Millis timeout);
    const std::string& received() const { return buffer_; }

    // Waits for the peer to close (FIN or RST) within `timeout`. Bytes that arrive meanwhile are
    // kept for read_response(). False if the connection is still open at the deadline.
    [[nodiscard]] bool is_closed_by_peer(Millis timeout);

    void shutdown_write(); // half-close: the peer sees EOF on its read side
    void close();
    void reset(); // RST instead of FIN

private:
    // `budget` is the caller's whole timeout, named in the error when the deadline passes.
    Response read_until(const Deadline& deadline, Millis budget, std::string_view request_method);

    UniqueFd fd_;
    std::string host_header_;
    std::string buffer_; // received, not yet parsed
    bool peer_closed_ = false;
    std::string error_;
};

// One GET on a new connection (Connection: close is not sent; the connection is dropped after).
Response http_get(std::uint16_t port, std::string_view target, const HeaderFields& headers = {},
                  Millis timeout = 5s);

// `n` GETs on `n` connections, started at once from a few threads. The object returns at once;
// collect() waits for the answers. Lets a test act (open a gate, wait for a metric) while the
// requests are in flight. Destruction waits for the threads (each is bounded by its timeout).
class ConcurrentGets {
public:
    ConcurrentGets(std::uint16_t port, std::string target, int n, HeaderFields headers = {},
                   Millis per_request_timeout = 10s);
    ~ConcurrentGets();
    ConcurrentGets(const ConcurrentGets&) = delete;
    ConcurrentGets& operator=(const ConcurrentGets&) = delete;

    // True once every request has been written (or failed to be).
    [[nodiscard]] bool wait_all_sent(Millis timeout);
    // All n responses in request order; the ones not finished by the deadline are marked
    // timed_out ("collect: deadline passed").
    std::vector<Response> collect(Millis timeout);

private:
    struct State;
    std::shared_ptr<State> state_;
    std::vector<std::thread> threads_;
};

// Blocking form: fire n concurrent GETs and return every response within `timeout`.
std::vector<Response> get_concurrently(std::uint16_t port, std::string_view target, int n,
                                       Millis timeout = 10s, const HeaderFields& headers = {});

} // namespace lacquer::test
