// proxy_protocol_transport(): the PROXY header as the first step of a connection's handshake.
#include "lacquer/net/proxy_header.h"

#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>

namespace lacquer::net {

namespace {

class ProxyProtocolTransport final : public Transport {
public:
    ProxyProtocolTransport(std::unique_ptr<Transport> inner, bool trusted)
        : owned_(std::move(inner)), inner_(owned_ ? owned_.get() : &plain_transport()),
          trusted_(trusted) {}

    bool needs_handshake() const override { return !preamble_done_ || inner_->needs_handshake(); }

    IoResult handshake(int fd) override {
        if (!preamble_done_) {
            const IoStatus status = read_preamble(fd);
            if (status != IoStatus::Ok) {
                return {0, status};
            }
            preamble_done_ = true;
        }
        return inner_->needs_handshake() ? inner_->handshake(fd) : IoResult{};
    }
    IoResult read(int fd, const iovec* vec, int n) override { return inner_->read(fd, vec, n); }
    IoResult write(int fd, const iovec* vec, int n) override { return inner_->write(fd, vec, n); }
    bool has_buffered_input() const override { return inner_->has_buffered_input(); }
    void shutdown_write(int fd) override { inner_->shutdown_write(fd); }
    std::string_view version() const override { return inner_->version(); }
    std::string_view server_name() const override { return inner_->server_name(); }
    std::string error_text() const override {
        return error_.empty() ? inner_->error_text() : std::string(error_);
    }
    std::string_view peer_override() const override { return header_.source_host(); }

private:
    // Peeks at what has arrived: the header is taken once it is whole, and nothing after it.
    IoStatus read_preamble(int fd) {
        char buffer[kMaxProxyHeader];
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT);
        if (got < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IoStatus::WantRead
                                                                             : IoStatus::Error;
        }
        if (got == 0) {
            error_ = "closed before the PROXY header";
            return IoStatus::Eof;
        }
        const std::string_view bytes(buffer, static_cast<std::size_t>(got));
        if (!trusted_) {
            const int signature = proxy_signature(bytes);
            if (signature > 0) {
                error_ = "a PROXY header from a peer not in proxy_from";
                return IoStatus::Error;
            }
            return signature < 0 ? IoStatus::Ok : IoStatus::WantRead;
        }
        header_ = parse_proxy_header(bytes);
        switch (header_.status) {
        case ProxyHeader::Status::NeedMore:
            return IoStatus::WantRead;
        case ProxyHeader::Status::Invalid:
            error_ = "missing or malformed PROXY header";
            return IoStatus::Error;
        case ProxyHeader::Status::Done:
            break;
        }
        // Take exactly the header (it is in the socket's buffer: this cannot block).
        const ssize_t taken = ::recv(fd, buffer, header_.length, MSG_DONTWAIT);
        if (taken != static_cast<ssize_t>(header_.length)) {
            return IoStatus::Error;
        }
        return IoStatus::Ok;
    }

    std::unique_ptr<Transport> owned_;
    Transport* inner_;
    bool trusted_;
    bool preamble_done_ = false;
    ProxyHeader header_;
    std::string_view error_;
};

} // namespace

std::unique_ptr<Transport> proxy_protocol_transport(std::unique_ptr<Transport> inner,
                                                    bool trusted) {
    return std::make_unique<ProxyProtocolTransport>(std::move(inner), trusted);
}

} // namespace lacquer::net
