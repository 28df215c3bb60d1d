#pragma once
// One event loop thread of the demo origin: its own event_base and its own SO_REUSEPORT listener
// on the shared port, so the kernel spreads connections and threads never share a connection.
// Everything here runs on the worker's thread except stop(), which any thread may call.

#include "demo_origin/responder.h"
#include "demo_origin/stats.h"

#include <cstdint>
#include <string>

struct event_base;
struct evconnlistener;
struct sockaddr;

namespace lacquer::demo_origin {

class Connection;

class Worker {
public:
    explicit Worker(Stats& stats);
    ~Worker(); // frees the listener and every connection still open
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Binds `address` (port 0 picks one) with SO_REUSEPORT. False + `error` on failure.
    bool listen(const sockaddr* address, int length, std::string& error);
    std::uint16_t bound_port() const;

    void run();  // until stop()
    void stop(); // thread-safe

    event_base* base() const { return base_; }
    Responder& responder() { return responder_; }
    Stats& stats() { return stats_; }
    Reply& scratch_reply() { return scratch_; }

    // Connections register themselves so the worker can free the ones still open at exit.
    void adopt(Connection* connection);
    void forget(Connection* connection);

private:
    Stats& stats_;
    Responder responder_;
    Reply scratch_; // the reply being built; kept to reuse its buffer
    event_base* base_ = nullptr;
    evconnlistener* listener_ = nullptr;
    Connection* connections_ = nullptr; // intrusive list head
};

} // namespace lacquer::demo_origin
