#pragma once
// A listening socket of one worker. Each worker binds its own socket to the same address with
// SO_REUSEPORT, so the kernel spreads connections over the workers and a connection never
// changes worker. Port 0: claim_address() picks the port; the workers bind to that port.
// SO_REUSEPORT lets any process of the same user join such a group: claim_address() first
// makes sure that nobody listens on the address, so a port has one owner.

#include "lacquer/net/address.h"
#include "lacquer/net/timer.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct evconnlistener;

namespace lacquer::net {

class Worker;

// What `error` starts with when another socket already listens on the address.
inline constexpr std::string_view kAddressInUse = "address in use";

// Creates a bound, listening, non-blocking socket; -1 and `error` on failure. `shared`: with
// SO_REUSEPORT, for the workers' group of one address (claim it first); otherwise the socket
// is the address's only one (the admin listener).
int open_listening_socket(const SocketAddress& address, std::string& error, bool shared);

// Binds a socket to `address` without SO_REUSEPORT, and keeps it bound, not listening, while
// the caller binds the workers' sockets (which it does not hinder: both have SO_REUSEADDR and
// it does not listen). That bind fails when any socket listens there (another process's
// SO_REUSEPORT group included): -1 and `error` = "address in use (...)". Port 0: the kernel
// picks one, written into `address`. The caller closes the returned socket.
int claim_address(SocketAddress& address, std::string& error);

class Listener {
public:
    // Called on the worker's thread for each accepted socket; the callee owns `fd`. `index` is
    // the listener's (set_index()): which entry of the config it serves.
    using OnAccept = std::function<void(int fd, const sockaddr* peer, std::size_t index)>;

    Listener(Worker& worker, int fd, OnAccept on_accept);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void pause();
    void resume();
    // A reload that keeps this socket may move its entry in the config.
    void set_index(std::size_t index) { index_ = index; }
    std::size_t index() const { return index_; }
    // The worker's thread: stops accepting and returns a duplicate of the socket (-1 when the
    // system has no descriptor left), which another worker's Listener can take over: the
    // socket keeps listening, so the connections in its backlog are not refused. The
    // listener's own descriptor still closes with it.
    int hand_over();
    // Any thread while the listener lives: another descriptor of the socket (-1 when the
    // system has none left), for another worker to accept on beside this one (a Unix socket,
    // which SO_REUSEPORT does not spread).
    int duplicate() const;
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
    std::size_t index_ = 0;
    Timer backoff_;
    std::uint64_t accept_pauses_ = 0;
    core::Instant last_report_{};
};

} // namespace lacquer::net
