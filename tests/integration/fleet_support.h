#pragma once
// A fleet on loopback for the fleet tests: one demo origin, N real lacquerd nodes with admin
// listeners (a node can be stopped and brought back on its own ports), and HAProxy run on the
// packaged packaging/haproxy/lacquer-fleet.cfg with only its addresses and health-check timings
// rewritten, so the file users install is the file tested.

#include "support/child_process.h"
#include "support/demo_origin_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/socket_io.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lacquer::test::fleet {

// Nodes cache /c/ (every param in the key) and /l/ (key_params [limit, offset], the others
// stripped), ttl 60s, and reject the rest; the host is api.test.
class LacquerFleet {
public:
    explicit LacquerFleet(std::size_t nodes);

    bool started() const;
    const DemoOriginProcess& origin() const { return origin_; }
    std::size_t size() const { return nodes_.size(); }
    LacquerProcess& node(std::size_t i) { return *nodes_[i]; }
    std::uint16_t port(std::size_t i) const { return ports_[i]; }
    std::uint16_t admin_port(std::size_t i) const { return admin_ports_[i]; }
    std::string admin_address(std::size_t i) const;

    // SIGTERM (lacquerd drains: /readyz 503, listeners closed) and wait for the exit.
    [[nodiscard]] bool stop(std::size_t i);
    // A fresh lacquerd (empty cache) on the ports node i had.
    [[nodiscard]] bool restart(std::size_t i);

private:
    std::string yaml_on(std::uint16_t port, std::uint16_t admin_port) const;

    DemoOriginProcess origin_;
    std::vector<std::unique_ptr<LacquerProcess>> nodes_;
    std::vector<std::uint16_t> ports_;
    std::vector<std::uint16_t> admin_ports_;
};

// $LACQUER_HAPROXY, else the haproxy CMake found; "" when there is none (the test skips).
std::string haproxy_binary();
// packaging/haproxy/lacquer-fleet.cfg under $LACQUER_SOURCE_DIR (else this tree's source), and
// its text ("" when it cannot be read).
std::string packaged_haproxy_config();
std::string packaged_haproxy_text();

struct HaproxyPorts {
    std::string client_bind; // "fd@N" or "127.0.0.1:PORT"
    std::string stats_bind;
};
// The packaged config with its binds, its server lines (one per node: client port, `check port`
// the admin port) and its check timings (`inter` and friends: `check_interval`) rewritten, and
// a response header naming the server that answered (X-Lacquer-Node) added to the backend;
// `balance` (when not empty) replaces the packaged `balance` line.
// nullopt + `error` when the packaged file no longer has the shape this relies on.
std::optional<std::string> haproxy_config_for(const std::string& packaged,
                                              const HaproxyPorts& ports, const LacquerFleet& fleet,
                                              const std::string& check_interval,
                                              const std::string& balance, std::string& error);

// The alternative the packaged file gives in a comment (hash on the path plus allow-listed
// params), uncommented: its lines that start with "#      " inside backend lacquer_fleet.
std::string allow_list_balance(const std::string& packaged);

// What the fleet tests need of a load balancer in front of the fleet.
class Balancer {
public:
    virtual ~Balancer() = default;
    virtual bool started() const = 0;
    virtual const std::string& error() const = 0;
    virtual std::uint16_t port() const = 0;
    // server_name(i) of the node that answered `response`; "" when it does not say.
    virtual std::string node_of(const Response& response) const = 0;
    // Until the balancer has taken node i out (a stopped node) or put it back (a returned
    // one); `probe` is a target that node i owns, for balancers that learn only from traffic.
    [[nodiscard]] virtual bool wait_out(std::size_t i, Millis timeout) = 0;
    [[nodiscard]] virtual bool wait_in(std::size_t i, const std::string& probe, Millis timeout) = 0;
    virtual std::string stderr_text() const = 0;
};

class HaproxyProcess final : public Balancer {
public:
    // Starts haproxy on the generated config, listening on sockets this process bound (passed
    // down as fd@N, so no port can be taken in between), and waits for its stats page.
    // `balance`: see haproxy_config_for (empty: the packaged one).
    HaproxyProcess(const std::string& binary, const LacquerFleet& fleet,
                   const std::string& balance = {});
    ~HaproxyProcess() override = default;
    HaproxyProcess(const HaproxyProcess&) = delete;
    HaproxyProcess& operator=(const HaproxyProcess&) = delete;

    bool started() const override { return started_; }
    const std::string& error() const override { return error_; }
    std::uint16_t port() const override { return port_; }
    std::string node_of(const Response& response) const override;
    bool wait_out(std::size_t i, Millis timeout) override;
    bool wait_in(std::size_t i, const std::string& probe, Millis timeout) override;

    // Server name ("lacquer1".."lacquerN") -> HAProxy's status ("UP", "DOWN", ...), from /;csv.
    std::map<std::string, std::string> server_states() const;
    // Waits until server `name` has status `status`; false at the deadline.
    [[nodiscard]] bool wait_for_state(const std::string& name, const std::string& status,
                                      Millis timeout) const;
    std::string stderr_text() const override { return child_.stderr_text(); }

private:
    TempDir dir_{"lacquer-haproxy"};
    ChildProcess child_;
    std::uint16_t port_ = 0;
    std::uint16_t stats_port_ = 0;
    bool started_ = false;
    std::string error_;
};

// $LACQUER_NGINX, else the nginx CMake found; "" when there is none (the test skips).
std::string nginx_binary();
// packaging/nginx/lacquer-fleet.conf under $LACQUER_SOURCE_DIR (else this tree's source).
std::string packaged_nginx_config();

// The packaged nginx file with its `listen`, the addresses of its upstream servers and their
// fail_timeout rewritten, the upstream that answered in X-Lacquer-Node, and a 204 location for
// the start-up wait. nullopt + `error` when the packaged file lost the shape this relies on.
std::optional<std::string> nginx_config_for(const std::string& packaged, std::uint16_t port,
                                            const LacquerFleet& fleet,
                                            const std::string& fail_timeout, std::string& error);

// nginx has no active health checks: a node is out once a request failed on it (max_fails=1)
// and back once fail_timeout has passed and a request succeeded on it.
class NginxProcess final : public Balancer {
public:
    NginxProcess(const std::string& binary, const LacquerFleet& fleet);
    ~NginxProcess() override = default;
    NginxProcess(const NginxProcess&) = delete;
    NginxProcess& operator=(const NginxProcess&) = delete;

    bool started() const override { return started_; }
    const std::string& error() const override { return error_; }
    std::uint16_t port() const override { return port_; }
    std::string node_of(const Response& response) const override;
    bool wait_out(std::size_t i, Millis timeout) override;
    bool wait_in(std::size_t i, const std::string& probe, Millis timeout) override;
    std::string stderr_text() const override { return child_ ? child_->stderr_text() : ""; }

private:
    bool start_once(const std::string& binary, const std::string& packaged, std::string& error);

    const LacquerFleet& fleet_;
    TempDir dir_{"lacquer-nginx"};
    std::unique_ptr<ChildProcess> child_; // one per attempt
    std::uint16_t port_ = 0;
    bool started_ = false;
    std::string error_;
};

// The name HAProxy gives node i in the generated config (and the tests, for any balancer).
std::string server_name(std::size_t i);

} // namespace lacquer::test::fleet
