#pragma once
// The ciphertext side of one TLS connection: the BIO through which OpenSSL reads and writes the
// socket. Outside a batch it acts like OpenSSL's socket BIO (one read or send per call, would
// block as a retry), which is what the handshake, session tickets, alerts and close_notify use.
// Inside a batch (TlsTransport::write) the records OpenSSL encrypts are kept in the thread's
// staging buffer instead, and leave together in one send when the batch ends: a head and a
// 16 KiB body are two records, and would otherwise be two sends.
// Why not a memory BIO: its buffer grows without bound and is per connection; the staging here
// is one per thread, bounded (a batch takes records while a whole one still fits), and only what
// the socket did not take stays with the connection (pending(): at most one staging's worth,
// allocated at a partial send and freed once it has all gone out).
// Thread: the owning connection's worker's only.

#include "lacquer/net/transport.h"

#include <cstddef>
#include <memory>
#include <openssl/bio.h>

namespace lacquer::net {

class TlsWire {
public:
    // Room a batch keeps for one more record: the largest plaintext record and more than any
    // record overhead (header, explicit nonce, tag or MAC and padding; a KeyUpdate before it).
    static constexpr std::size_t kRecordPayload = 16 * 1024;
    static constexpr std::size_t kRecordRoom = kRecordPayload + 1024;
    // A batch holds up to three full records.
    static constexpr std::size_t kStagingSize = 3 * kRecordRoom;

    explicit TlsWire(int fd) : fd_(fd) {}
    TlsWire(const TlsWire&) = delete;
    TlsWire& operator=(const TlsWire&) = delete;

    // A new BIO over this wire; SSL_set_bio takes it. It must not outlive the wire.
    BIO* make_bio();

    // Starts a batch: records go to the thread's staging buffer (empty here).
    void begin_batch();
    // True while the staging buffer can take one more full record.
    bool has_room() const;
    // Ends the batch: one send for the staged records; what the socket did not take is kept
    // (pending). Ok: all sent; WantWrite: some kept; Error: the send failed (errno says why;
    // the unsent bytes are kept too, so that the next flush reports the error again).
    IoStatus end_batch();
    // Ciphertext accepted earlier that the socket has not taken yet.
    std::size_t pending() const { return pending_end_ - pending_begin_; }
    // The memory that holds it: a staging buffer's worth while any waits, else 0.
    std::size_t held() const { return pending_ != nullptr ? kStagingSize : 0; }
    // Sends the pending ciphertext. Ok once none is left; WantWrite; Error (errno says why).
    IoStatus send_pending();

private:
    static int bio_write(BIO* bio, const char* data, int length);
    static int bio_read(BIO* bio, char* data, int length);
    static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
    static const BIO_METHOD* method();
    // Keeps bytes the socket did not take after the pending ones.
    void keep(const char* data, std::size_t length);

    int fd_;
    bool batching_ = false;
    bool read_eof_ = false;
    std::unique_ptr<char[]> pending_; // kStagingSize bytes once needed
    std::size_t pending_begin_ = 0;
    std::size_t pending_end_ = 0;
};

} // namespace lacquer::net
