// The plain-socket transport: readv and sendmsg, nothing kept.
#include "lacquer/net/transport.h"

#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>

namespace lacquer::net {

namespace {

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

class PlainTransport final : public Transport {
public:
    bool needs_handshake() const override { return false; }
    IoResult handshake(int) override { return {}; }

    IoResult read(int fd, const iovec* vec, int n) override {
        const ssize_t got = ::readv(fd, vec, n);
        if (got > 0) {
            return {static_cast<std::size_t>(got), IoStatus::Ok};
        }
        if (got == 0) {
            return {0, IoStatus::Eof};
        }
        return {0, would_block(errno) ? IoStatus::WantRead : IoStatus::Error};
    }

    IoResult write(int fd, const iovec* vec, int n) override {
        msghdr msg{};
        msg.msg_iov = const_cast<iovec*>(vec);
        msg.msg_iovlen = static_cast<std::size_t>(n);
        const ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent >= 0) {
            return {static_cast<std::size_t>(sent), IoStatus::Ok};
        }
        return {0, would_block(errno) ? IoStatus::WantWrite : IoStatus::Error};
    }

    bool has_buffered_input() const override { return false; }
    void shutdown_write(int fd) override { ::shutdown(fd, SHUT_WR); }
};

} // namespace

Transport& plain_transport() {
    static PlainTransport the_transport;
    return the_transport;
}

} // namespace lacquer::net
