// RequestBody: a request body decoded and held whole (memory, then an unlinked file); and the
// ClientSession step that reads it before the origin is asked, under client_body_timeout (between
// reads) and client_request_timeout (the whole request).
#include "lacquer/proxy/request_body.h"

#include "lacquer/core/errno_text.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/worker.h"
#include "lacquer/proxy/worker_context.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace lacquer::proxy {

namespace {
// The body goes upstream in pieces of this size (a file part through a buffer on the worker's
// stack): libevent then makes chains that its per-thread block caches keep (event_memory.h),
// where one 64 KiB write would take a fresh malloc every time.
constexpr std::size_t kSendPiece = 16 * 1024;
// The smallest memory block a body takes.
constexpr std::size_t kMinBlock = 4 * 1024;

// A body of known length takes a power-of-two block that holds it, so that small bodies do not
// each hold client_body_buffer bytes while they arrive, and the sizes stay few enough for the
// spare-block cache to reuse them; a chunked body takes the whole buffer.
std::size_t block_size(const http::Framing& framing, std::size_t memory_bytes) {
    if (framing.kind != http::Framing::Kind::Length || framing.length >= memory_bytes) {
        return memory_bytes;
    }
    const std::size_t fits = std::bit_ceil(static_cast<std::size_t>(framing.length));
    return std::min(std::max(kMinBlock, fits), memory_bytes);
}
} // namespace

RequestBody::~RequestBody() {
    clear();
}

void RequestBody::begin(const http::Framing& framing, const Limits& limits) {
    clear();
    framing_ = framing;
    chunked_.reset();
    limits_ = limits;
    size_ = 0;
    sent_ = 0;
    file_error_ = 0;
    left_ = framing.kind == http::Framing::Kind::Length ? framing.length : 0;
}

void RequestBody::clear() {
    memory_.reset(); // back to this thread's spare blocks
    memory_size_ = 0;
    size_ = 0;
    sent_ = 0;
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

RequestBody::Read RequestBody::read(net::Connection& from) {
    std::size_t consumed = 0;
    for (;;) {
        if (framing_.kind == http::Framing::Kind::Length && left_ == 0) {
            return {Status::Complete, consumed};
        }
        const std::string_view bytes = from.peek();
        if (bytes.empty()) {
            return {Status::NeedMore, consumed};
        }
        if (framing_.kind == http::Framing::Kind::Length || chunked_.data_pending() > 0) {
            const std::uint64_t want =
                framing_.kind == http::Framing::Kind::Length ? left_ : chunked_.data_pending();
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(want, bytes.size()));
            if (!append(bytes.substr(0, n))) {
                return {Status::StorageFailed, consumed};
            }
            from.drain(n);
            consumed += n;
            if (framing_.kind == http::Framing::Kind::Length) {
                left_ -= n;
            } else {
                chunked_.data_taken(n);
            }
            continue;
        }
        const http::ChunkedDecoder::Step step = chunked_.next(bytes);
        from.drain(step.consumed);
        consumed += step.consumed;
        switch (step.status) {
        case http::ChunkedDecoder::Status::Error:
            return {Status::BadFraming, consumed};
        case http::ChunkedDecoder::Status::Done:
            return {Status::Complete, consumed};
        case http::ChunkedDecoder::Status::Data:
            // Refused on the declared size, before its bytes are read and stored.
            if (chunked_.data_pending() > limits_.max_bytes - size_) {
                return {Status::TooLarge, consumed};
            }
            break;
        case http::ChunkedDecoder::Status::NeedMore:
            break;
        }
    }
}

bool RequestBody::append(std::string_view bytes) {
    if (!memory_) {
        memory_size_ = block_size(framing_, limits_.memory_bytes);
        memory_ = core::make_block(memory_size_);
    }
    if (size_ < memory_size_) {
        const std::size_t room = memory_size_ - static_cast<std::size_t>(size_);
        const std::size_t n = std::min(room, bytes.size());
        std::memcpy(memory_.get() + size_, bytes.data(), n);
        size_ += n;
        bytes.remove_prefix(n);
    }
    if (bytes.empty()) {
        return true;
    }
    if (fd_ < 0 && !open_file()) {
        file_error_ = errno;
        return false;
    }
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            file_error_ = n < 0 ? errno : EIO; // ENOSPC, EDQUOT, EIO, ...
            return false;
        }
        size_ += static_cast<std::uint64_t>(n);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool RequestBody::open_file() {
    // O_TMPFILE: never has a name, so nothing is left behind even if the process dies.
    char dir[PATH_MAX];
    if (limits_.temp_dir.size() >= sizeof dir - 32) {
        errno = ENAMETOOLONG;
        return false;
    }
    std::memcpy(dir, limits_.temp_dir.data(), limits_.temp_dir.size());
    dir[limits_.temp_dir.size()] = '\0';
    fd_ = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
        return true;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        return false;
    }
    // A file system without O_TMPFILE: a named file, unlinked at once.
    static constexpr std::string_view kName = "/lacquer-body-XXXXXX";
    char path[PATH_MAX];
    std::memcpy(path, dir, limits_.temp_dir.size());
    std::memcpy(path + limits_.temp_dir.size(), kName.data(), kName.size());
    path[limits_.temp_dir.size() + kName.size()] = '\0';
    fd_ = ::mkostemp(path, O_CLOEXEC);
    if (fd_ >= 0) {
        ::unlink(path);
    }
    return fd_ >= 0;
}

bool RequestBody::send(net::Connection& to, std::size_t high_mark, bool& failed) {
    failed = false;
    const std::uint64_t in_memory = std::min<std::uint64_t>(size_, memory_size_);
    while (sent_ < size_ && to.output_size() < high_mark) {
        if (sent_ < in_memory) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(kSendPiece, in_memory - sent_));
            to.write(std::string_view(memory_.get() + sent_, n));
            sent_ += n;
            continue;
        }
        char piece[kSendPiece];
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(sizeof piece, size_ - sent_));
        const ssize_t n = ::pread(fd_, piece, want, static_cast<off_t>(sent_ - in_memory));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            file_error_ = n < 0 ? errno : EIO;
            failed = true;
            return false;
        }
        to.write(std::string_view(piece, static_cast<std::size_t>(n)));
        sent_ += static_cast<std::uint64_t>(n);
    }
    return sent_ == size_;
}

// A temporary file that cannot be made or written fails every large body the same way: say why
// on stderr (the journal), at most once a minute per worker.
void report_body_file_failure(WorkerContext& ctx, std::string_view dir, int error) {
    const core::Instant now = ctx.worker.now();
    if (ctx.body_file_reported != core::Instant{} &&
        now - ctx.body_file_reported < std::chrono::minutes(1)) {
        return;
    }
    ctx.body_file_reported = now;
    std::fprintf(stderr,
                 "request body: no temporary file in limits.client_body_temp_dir (%.*s): %s; "
                 "bodies over client_body_buffer get 500 (reported once a minute)\n",
                 static_cast<int>(dir.size()), dir.data(), core::errno_text(error));
}

} // namespace lacquer::proxy
