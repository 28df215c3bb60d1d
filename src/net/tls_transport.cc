#include "tls_transport.h"

#include "lacquer/core/errno_text.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>

namespace lacquer::net {

namespace {

// The largest TLS record's payload: pieces gathered up to this leave as one record.
constexpr std::size_t kRecordSize = TlsWire::kRecordPayload;
// A piece with at least this much left goes to SSL_write as it is (no gathering copy) when it
// starts a record, or when it cannot join the gathered ones whole.
constexpr std::size_t kDirectWrite = 4 * 1024;

// Where a write has got to in its iovecs.
class Cursor {
public:
    Cursor(const iovec* vec, int n) : vec_(vec), n_(n) { skip_empty(); }
    bool done() const { return i_ >= n_; }
    const char* data() const { return static_cast<const char*>(vec_[i_].iov_base) + at_; }
    std::size_t left() const { return vec_[i_].iov_len - at_; }
    void advance(std::size_t n) {
        while (n > 0 && !done()) {
            const std::size_t step = std::min(n, left());
            at_ += step;
            n -= step;
            skip_empty();
        }
    }

private:
    void skip_empty() {
        while (!done() && at_ == vec_[i_].iov_len) {
            ++i_;
            at_ = 0;
        }
    }
    const iovec* vec_;
    int n_;
    int i_ = 0;
    std::size_t at_ = 0;
};

// The plaintext of the next record from `at` (not moved): a large piece as it is, or small
// pieces gathered into `gathered` while they fit whole (a head and a small body: one record).
// A retry after a would-block sees the same front and a gathered length that can only grow,
// which is what OpenSSL asks of a retried write (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
std::pair<const char*, std::size_t> next_record(const Cursor& at, char* gathered) {
    if (at.left() >= kDirectWrite) {
        return {at.data(), std::min(at.left(), kRecordSize)};
    }
    Cursor c = at;
    std::size_t used = 0;
    while (!c.done() && used < kRecordSize) {
        const std::size_t piece = c.left();
        if (piece >= kDirectWrite && used + piece > kRecordSize) {
            break; // a large piece that does not fit whole goes on its own, uncopied
        }
        const std::size_t take = std::min(piece, kRecordSize - used);
        std::memcpy(gathered + used, c.data(), take);
        used += take;
        c.advance(take);
    }
    return {gathered, used};
}

TlsStats::Version version_of(const SSL* ssl) {
    switch (SSL_version(ssl)) {
    case TLS1_2_VERSION:
        return TlsStats::Tls12;
    case TLS1_3_VERSION:
        return TlsStats::Tls13;
    default:
        return TlsStats::Other;
    }
}

} // namespace

TlsTransport::TlsTransport(SSL* ssl, int fd, const TlsStats* stats, metrics::Shard* shard,
                           std::shared_ptr<const void> context)
    : ssl_(ssl), context_(std::move(context)), stats_(shard != nullptr ? stats : nullptr),
      shard_(shard), start_(std::chrono::steady_clock::now()), wire_(fd) {
    BIO* bio = wire_.make_bio(); // nullptr: the handshake fails (no BIO), as a failed SSL_new
    SSL_set_bio(ssl_, bio, bio);
}

TlsTransport::~TlsTransport() {
    if (!handshake_done_) {
        count(TlsStats::Failed); // closed mid-handshake: by the peer or at the deadline
    }
    if (handshake_done_ && !failed_) {
        // A connection that ends without close_notify (most HTTP clients, and our own idle
        // closes) would otherwise mark its session bad: no resumption from it, on either side.
        SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    SSL_free(ssl_);
}

IoStatus TlsTransport::status_of(int rc) {
    const int error = SSL_get_error(ssl_, rc);
    switch (error) {
    case SSL_ERROR_WANT_READ:
        return IoStatus::WantRead;
    case SSL_ERROR_WANT_WRITE:
        return IoStatus::WantWrite;
    case SSL_ERROR_ZERO_RETURN:
        return IoStatus::Eof;
    case SSL_ERROR_SYSCALL:
        if (errno == EAGAIN || errno == EINTR) {
            return IoStatus::WantRead;
        }
        if (ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET)) {
            return IoStatus::Eof; // a close or a reset: no TLS error to report
        }
        error_ = core::errno_text(errno);
        ERR_clear_error();
        failed_ = true;
        return IoStatus::Error;
    default:
        break;
    }
    failed_ = true;
    char text[256] = {};
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
        error_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    } else {
        const unsigned long code = ERR_peek_last_error();
        ERR_error_string_n(code, text, sizeof text);
        const char* reason = ERR_reason_error_string(code);
        error_ = reason != nullptr ? reason : text;
    }
    ERR_clear_error();
    return IoStatus::Error;
}

void TlsTransport::count(TlsStats::Result result) {
    if (counted_ || stats_ == nullptr) {
        return;
    }
    counted_ = true;
    const TlsStats::Version version = version_of(ssl_);
    const auto add = [this](std::uint32_t slot) {
        if (slot != metrics::kNoSlot) {
            shard_->add(slot);
        }
    };
    add(stats_->handshakes[result][version]);
    shard_->observe(stats_->seconds[result][version], std::chrono::steady_clock::now() - start_);
    if (result == TlsStats::Ok && SSL_session_reused(ssl_) != 0) {
        add(stats_->resumed);
    }
}

IoResult TlsTransport::handshake(int) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        handshake_done_ = true;
        count(TlsStats::Ok);
        return {0, IoStatus::Ok};
    }
    const IoStatus status = status_of(rc);
    if (status == IoStatus::Error || status == IoStatus::Eof) {
        count(TlsStats::Failed);
    }
    return {0, status};
}

IoResult TlsTransport::read(int, const iovec* vec, int n) {
    ERR_clear_error();
    std::size_t total = 0;
    for (int i = 0; i < n; ++i) {
        std::size_t got = 0;
        const int rc = SSL_read_ex(ssl_, vec[i].iov_base, vec[i].iov_len, &got);
        if (rc != 1) {
            if (total > 0) {
                ERR_clear_error();
                return {total, IoStatus::Ok};
            }
            return {0, status_of(rc)};
        }
        total += got;
        if (got < vec[i].iov_len) {
            break;
        }
    }
    return {total, IoStatus::Ok};
}

IoResult TlsTransport::write(int, const iovec* vec, int n) {
    // Records accepted earlier go first; new ones wait until the socket has taken them.
    if (wire_.pending() > 0) {
        const IoStatus before = wire_.send_pending();
        if (before != IoStatus::Ok) {
            return {0, before == IoStatus::Error ? send_failed() : before};
        }
    }
    if (n <= 0) {
        return {};
    }
    // One batch: records while a whole one fits in the staging buffer, then one send.
    thread_local char gathered[kRecordSize];
    ERR_clear_error();
    wire_.begin_batch();
    Cursor at(vec, n);
    std::size_t taken = 0;
    IoStatus status = IoStatus::Ok;
    while (!at.done() && wire_.has_room()) {
        const auto [data, length] = next_record(at, gathered);
        std::size_t wrote = 0;
        const int rc = SSL_write_ex(ssl_, data, length, &wrote);
        if (rc != 1) {
            status = status_of(rc);
            break;
        }
        taken += wrote;
        at.advance(wrote);
    }
    const IoStatus sent = wire_.end_batch();
    if (sent == IoStatus::Error) {
        return {taken, send_failed()};
    }
    if (status != IoStatus::Ok) {
        return {taken, status == IoStatus::Eof ? IoStatus::Error : status};
    }
    return {taken, sent}; // WantWrite: taken, encrypted, and partly still pending
}

IoStatus TlsTransport::send_failed() {
    error_ = core::errno_text(errno);
    failed_ = true;
    return IoStatus::Error;
}

bool TlsTransport::has_buffered_input() const {
    return SSL_has_pending(ssl_) != 0;
}

void TlsTransport::shutdown_write(int fd) {
    if (handshake_done_) {
        ERR_clear_error();
        (void)SSL_shutdown(ssl_); // close_notify; the answer is not awaited
        ERR_clear_error();
    }
    ::shutdown(fd, SHUT_WR);
}

std::string_view TlsTransport::version() const {
    return handshake_done_ ? SSL_get_version(ssl_) : std::string_view{};
}

std::string_view TlsTransport::server_name() const {
    const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : std::string_view{};
}

} // namespace lacquer::net
