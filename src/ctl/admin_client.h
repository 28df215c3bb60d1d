#pragma once
// One blocking HTTP/1.1 exchange with lacquerd's admin listener, which answers one request per
// connection and then closes. Connecting, sending and reading share one deadline, so no call
// waits longer than its timeout (name resolution aside: numeric addresses never wait).

#include "lacquer/config/config.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::ctl {

// An admin address: config's HostPort (a name, an IPv4 literal or an IPv6 literal without
// brackets; text() gives "host:port" or "[v6]:port").
using Endpoint = config::HostPort;

// "host:port" or "[v6]:port" (config::parse_host_port); nullopt when either part is missing,
// the host is not a name or an address, or the port is not 1..65535.
std::optional<Endpoint> parse_endpoint(std::string_view text);

struct AdminAnswer {
    int status = 0;
    std::string body;
};

struct Exchange {
    std::optional<AdminAnswer> answer; // nullopt: `error` says why there is none
    std::string error;                 // "cannot connect to ...", "timed out ...", ...
};

// Sends `method target` (with `Authorization: Bearer token` unless `token` is empty) and reads
// the whole answer. Never throws.
Exchange exchange(const Endpoint& endpoint, std::string_view method, std::string_view target,
                  std::string_view token, std::chrono::milliseconds timeout);

struct StreamEnd {
    int status = 0;    // the answer's status; 0: none came (`error` says why)
    std::string body;  // a non-200 answer's body (lacquerd's message)
    std::string error; // no answer, or the stream broke
};

// GET `target` whose 200 answer is a stream (GET /log, chunked): its body goes to `take` as it
// arrives, decoded. Connecting and the answer's head share `timeout`; the body then has no
// deadline but `until` (steady clock), where the stream is left without an error; `take`
// returning false leaves it too. While the stream is quiet, `take` is called with an empty view
// every 250 ms (a terminal refresh can run then). A non-200 answer is read whole into `body`.
StreamEnd stream(const Endpoint& endpoint, std::string_view target, std::string_view token,
                 std::chrono::milliseconds timeout, std::chrono::steady_clock::time_point until,
                 const std::function<bool(std::string_view)>& take);

} // namespace lacquer::ctl
