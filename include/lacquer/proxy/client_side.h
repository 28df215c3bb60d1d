#pragma once
// What a request sees of its client: the parsed head, the body read whole, and a narrow way to
// answer (bytes copied, lent or moved, then the end). It knows nothing of sockets, timers or
// keep-alive: ClientSession implements it over one HTTP/1.1 connection; an HTTP/2 stream could
// implement it too and drive the same RequestFsm.
// Thread: the owning worker's only.

#include "lacquer/core/clock.h"
#include "lacquer/http/head.h"
#include "lacquer/net/connection.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lacquer::proxy {

class RequestBody;

class ClientSide {
public:
    virtual const http::RequestHead& head() const = 0;
    virtual std::string_view peer_host() const = 0;
    // TLS: the version ("TLSv1.3") and the SNI name, for the access log; "" when plain.
    virtual std::string_view tls_version() const { return {}; }
    virtual std::string_view tls_server_name() const { return {}; }
    // Bytes of this request read from the client so far: its head and its body.
    virtual std::uint64_t request_bytes() const { return 0; }

    // Reads the request body whole (the connection owns its framing and its deadlines) and
    // calls RequestFsm::body_complete() once it is. What goes wrong on the way (408, 413, 400,
    // 500) is answered by the connection, which then cancels the request.
    virtual void read_body() = 0;
    virtual RequestBody& body() = 0;

    // The answer, in order: bytes copied; bytes lent (`release` runs once they are sent or
    // dropped, possibly after the request ended); parts gathered in one immediate write that
    // returns how many bytes went (the rest is the caller's to queue); bytes moved from the
    // front of an upstream connection's input without a copy.
    virtual void write(std::string_view bytes) = 0;
    virtual void write_borrowed(const void* data, std::size_t length, net::BorrowRelease release,
                                void* token) = 0;
    virtual std::size_t write_now(std::span<const std::string_view> parts) = 0;
    virtual void move_from(net::Connection& upstream, std::size_t n) = 0;
    // Answer bytes written and not yet sent: above a mark, the sender waits for
    // RequestFsm::client_drained().
    virtual std::size_t queued() const = 0;

    // The request is over: its answer is complete (`keep_alive`: another may follow on this
    // connection), or was cut part way (`cut`: the client must be able to tell, `reset` when
    // only a reset can say so). The request is not touched by its caller after this.
    virtual void request_ended(bool keep_alive, bool cut, bool reset) = 0;

protected:
    ~ClientSide() = default;
};

} // namespace lacquer::proxy
