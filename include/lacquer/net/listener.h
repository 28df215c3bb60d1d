#pragma once
// A listening socket of one worker. Each worker binds its own socket to the same address with
// SO_REUSEPORT, so the kernel spreads connections over the workers and a connection never
// changes worker. Port 0: the first socket picks the port; the others bind to that port.

#include "lacquer/net/address.h"
#include "lacquer/net/timer.h"

#include <functional>
#include <memory>
#include <string>

struct evconnlistener;

namespace lacquer::net {

class Worker;

// Creates a bound, listening, non-blocking socket with SO_REUSEPORT; -1 and `error` on failure.
int open_listening_socket(const SocketAddress& address, std::string& error);

class Listener {
public:
    // Called on the worker's thread for each accepted socket; the callee owns `fd`.
    using OnAccept = std::function<void(int fd, const sockaddr* peer)>;

    Listener(Worker& worker, int fd, OnAccept on_accept);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void pause();
    void resume();
    std::uint16_t port() const;
    // Times accept() failed for lack of descriptors or memory and accepting paused.
    std::uint64_t accept_pauses() const { return accept_pauses_; }

    // How long accepting pauses after EMFILE/ENFILE/ENOBUFS/ENOMEM: the pending connection
    // stays in the backlog, and retrying at once would spin the loop at 100% CPU.
    static constexpr core::Millis kAcceptBackoff{100};

private:
    static void on_accept_cb(evconnlistener* l, int fd, sockaddr* peer, int len, void* arg);
    static void on_error_cb(evconnlistener* l, void* arg);
    static void on_backoff_done(void* arg);
    Worker& worker_;
    evconnlistener* listener_;
    OnAccept on_accept_;
    int fd_;
    Timer backoff_;
    std::uint64_t accept_pauses_ = 0;
    core::Instant last_report_{};
};

} // namespace lacquer::net
