#include "tls_wire.h"

#include "lacquer/core/assert.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::net {

namespace {

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

// One thread's batch of records. Allocated at the thread's first batch (a worker's lifetime).
struct Staging {
    std::size_t used = 0;
    char bytes[TlsWire::kStagingSize] = {};
};

Staging& staging() {
    thread_local std::unique_ptr<Staging> the_staging;
    if (the_staging == nullptr) {
        the_staging = std::make_unique<Staging>();
    }
    return *the_staging;
}

// Sends as much of [data, data + length) as the socket takes; -1 with errno when nothing.
ssize_t send_some(int fd, const char* data, std::size_t length) {
    return ::send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
}

} // namespace

const BIO_METHOD* TlsWire::method() {
    static BIO_METHOD* the_method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lacquer wire");
        LACQUER_ASSERT(m != nullptr);
        BIO_meth_set_write(m, &TlsWire::bio_write);
        BIO_meth_set_read(m, &TlsWire::bio_read);
        BIO_meth_set_ctrl(m, &TlsWire::bio_ctrl);
        BIO_meth_set_create(m, [](BIO* bio) {
            BIO_set_init(bio, 1);
            return 1;
        });
        return m; // never freed: BIOs may be freed during exit
    }();
    return the_method;
}

BIO* TlsWire::make_bio() {
    BIO* bio = BIO_new(method());
    if (bio != nullptr) {
        BIO_set_data(bio, this);
    }
    return bio;
}

void TlsWire::begin_batch() {
    LACQUER_ASSERT(pending() == 0 && !batching_);
    staging().used = 0;
    batching_ = true;
}

bool TlsWire::has_room() const {
    return kStagingSize - staging().used >= kRecordRoom;
}

IoStatus TlsWire::end_batch() {
    batching_ = false;
    Staging& s = staging();
    const std::size_t length = s.used;
    s.used = 0;
    if (length == 0) {
        return IoStatus::Ok;
    }
    const ssize_t sent = send_some(fd_, s.bytes, length);
    const int error = errno;
    const std::size_t took = sent > 0 ? static_cast<std::size_t>(sent) : 0;
    if (took == length) {
        return IoStatus::Ok;
    }
    keep(s.bytes + took, length - took);
    errno = error;
    return sent >= 0 || would_block(error) ? IoStatus::WantWrite : IoStatus::Error;
}

IoStatus TlsWire::send_pending() {
    while (pending() > 0) {
        const ssize_t sent = send_some(fd_, pending_.get() + pending_begin_, pending());
        if (sent < 0) {
            return would_block(errno) ? IoStatus::WantWrite : IoStatus::Error;
        }
        pending_begin_ += static_cast<std::size_t>(sent);
    }
    pending_begin_ = pending_end_ = 0;
    // All sent: the buffer goes back, so a connection that once met a full socket does not hold
    // it while it idles (10,000 such connections would hold 500 MiB); a slow reader pays one
    // allocation per stall, on a path that waits for the network anyway.
    pending_.reset();
    return IoStatus::Ok;
}

void TlsWire::keep(const char* data, std::size_t length) {
    if (pending_ == nullptr) {
        pending_ = std::make_unique_for_overwrite<char[]>(kStagingSize);
    }
    if (pending() == 0) {
        pending_begin_ = pending_end_ = 0;
    }
    LACQUER_ASSERT(length <= kStagingSize - pending_end_);
    std::memcpy(pending_.get() + pending_end_, data, length);
    pending_end_ += length;
}

int TlsWire::bio_write(BIO* bio, const char* data, int length) {
    auto* wire = static_cast<TlsWire*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (length <= 0) {
        return 0;
    }
    const auto size = static_cast<std::size_t>(length);
    if (wire->batching_) {
        Staging& s = staging();
        if (kStagingSize - s.used < size) {
            // Not expected (a batch stops while a whole record still fits): OpenSSL keeps the
            // record and writes it again on the next call, after this batch has gone out.
            BIO_set_retry_write(bio);
            return -1;
        }
        std::memcpy(s.bytes + s.used, data, size);
        s.used += size;
        return length;
    }
    // Outside a batch: what is pending goes first, then this, as OpenSSL's socket BIO would.
    const IoStatus before = wire->send_pending();
    if (before != IoStatus::Ok) {
        if (before == IoStatus::WantWrite) {
            BIO_set_retry_write(bio);
        }
        return -1;
    }
    const ssize_t sent = send_some(wire->fd_, data, size);
    if (sent < 0) {
        if (would_block(errno)) {
            BIO_set_retry_write(bio);
        }
        return -1;
    }
    return static_cast<int>(sent);
}

int TlsWire::bio_read(BIO* bio, char* data, int length) {
    auto* wire = static_cast<TlsWire*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (length <= 0) {
        return 0;
    }
    const ssize_t got = ::read(wire->fd_, data, static_cast<std::size_t>(length));
    if (got > 0) {
        return static_cast<int>(got);
    }
    if (got == 0) {
        wire->read_eof_ =
            true; // BIO_eof: an EOF without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF)
        return 0;
    }
    if (would_block(errno)) {
        BIO_set_retry_read(bio);
    }
    return -1;
}

long TlsWire::bio_ctrl(BIO* bio, int cmd, long, void*) {
    const auto* wire = static_cast<const TlsWire*>(BIO_get_data(bio));
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; // every write has been sent, batched or kept: nothing waits in the BIO
    case BIO_CTRL_EOF:
        return wire != nullptr && wire->read_eof_ ? 1 : 0;
    default:
        return 0; // as the socket BIO: push and pop, nothing waits (WPENDING), no kTLS
    }
}

} // namespace lacquer::net
