#pragma once
// InProcessLacquer: a whole server::Server inside the test process, on a core::ManualClock that the
// test advances instead of sleeping (STYLE.md §G, component tests in tests/integration/inproc_*).
// Built from YAML (a TestConfig listens on 127.0.0.1:0), started in the constructor, stopped in
// the destructor. Only the clock is not real: sockets, worker threads and the origin are, and so
// are the timers that bound I/O (net/timer.h), so an origin timeout still takes its real time.
// What the clock drives is what workers decide from now(): ages, TTLs, stale windows,
// hit-for-miss and refresh back-off, soft-purge marks, the access log's and Expires' wall clock.
// Control methods are for the test's own thread.

#include "lacquer/core/clock.h"
#include "lacquer/server/server.h"
#include "support/deadline.h"
#include "support/header_fields.h"
#include "support/http_client.h"
#include "support/test_config.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lacquer::test {

class InProcessLacquer {
public:
    // A start-up failure (a config error, a port that cannot be bound) is a test failure, and
    // started() says false.
    // `resolver`: where origin server names resolve (empty: the system's resolver).
    explicit InProcessLacquer(const TestConfig& config, origin::NameBook::Resolver resolver = {});
    explicit InProcessLacquer(std::string_view yaml, origin::NameBook::Resolver resolver = {});
    ~InProcessLacquer();
    InProcessLacquer(const InProcessLacquer&) = delete;
    InProcessLacquer& operator=(const InProcessLacquer&) = delete;

    bool started() const { return server_ != nullptr; }
    std::uint16_t port(std::size_t listener = 0) const;
    std::string address(std::size_t listener = 0) const;     // "127.0.0.1:PORT"
    std::uint16_t admin_port() const { return admin_port_; } // 0 without an admin listener
    unsigned worker_threads() const;

    // The time of every worker and of the admin purges; it moves only through advance().
    const core::ManualClock& clock() const { return clock_; }
    // Moves the clock on. A request sent afterwards sees the new time: workers read the clock
    // once per loop turn, after the turn's wait, and the request's bytes end a later wait.
    void advance(core::Duration by) { clock_.advance(by); }

    server::Server& server() { return *server_; }

    // Conveniences on listener 0 and on the admin listener, as LacquerProcess has them.
    Response get(std::string_view target, const HeaderFields& headers = {},
                 Millis timeout = 5s) const;
    ConcurrentGets get_concurrently(std::string_view target, int n,
                                    const HeaderFields& headers = {}) const;
    [[nodiscard]] bool wait_for_metric(std::string_view name, double at_least, Millis timeout,
                                       std::string_view label_filter = {}) const;

private:
    core::ManualClock clock_; // declared first: the server reads it until it is gone
    std::unique_ptr<server::Server> server_;
    std::uint16_t admin_port_ = 0;
};

} // namespace lacquer::test
