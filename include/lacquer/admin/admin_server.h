#pragma once
// The admin listener (CONFIG.md `admin`): /metrics (Prometheus text), /healthz, /readyz, on its
// own thread and event loop, so that a slow scraper never touches a worker. One request per
// connection; answers are small and complete.

#include "lacquer/metrics/registry.h"
#include "lacquer/net/address.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::admin {

struct AdminState {
    const metrics::Registry* registry = nullptr;
    std::vector<const metrics::Shard*> shards; // one per worker
    const std::atomic<bool>* ready = nullptr;  // listeners up and workers running
    std::function<bool()> origin_up;           // at least one origin server accepts connections
};

class AdminServer {
public:
    // Binds `address` now (port 0 picks one); throws std::runtime_error when it cannot.
    AdminServer(const net::SocketAddress& address, AdminState state);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    void start();
    void stop();
    const net::SocketAddress& address() const { return address_; }

    // The answer to one request (pure: tests and the listener share it).
    struct Answer {
        int status = 200;
        std::string content_type = "text/plain; charset=utf-8";
        std::string body;
    };
    Answer answer(std::string_view method, std::string_view target) const;

private:
    struct Impl;
    net::SocketAddress address_;
    AdminState state_;
    std::unique_ptr<Impl> impl_;
};

} // namespace lacquer::admin
