#pragma once
// A request body read whole before the origin is asked (nginx's proxy_request_buffering), so
// that a slow client holds its own connection only, never an origin connection. The body is
// decoded from its framing (Content-Length, or chunked with extensions and trailers dropped),
// bounded by limits.max_body_bytes, held in memory up to limits.client_body_buffer (a spare
// block, core/spare_blocks.h) and beyond that in an unlinked temporary file. It stays until
// clear(), so it can be sent more than once. Blocking file I/O runs on the worker's thread, as
// nginx does: the file lives in the page cache unless memory is short.
// Thread: the owning session's worker only.

#include "lacquer/core/spare_blocks.h"
#include "lacquer/http/chunked.h"
#include "lacquer/http/head.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lacquer::net {
class Connection;
}

namespace lacquer::proxy {

struct WorkerContext;

class RequestBody {
public:
    enum class Status : std::uint8_t {
        NeedMore,     // all input taken; more of the body is to come
        Complete,     // the whole body is held; bytes after it stay in the input
        TooLarge,     // over max_bytes -> 413
        BadFraming,   // broken chunked coding -> 400
        StorageFailed // the temporary file could not be made or written -> 500
    };
    struct Limits {
        std::uint64_t max_bytes = 0;
        std::size_t memory_bytes = 0;
        std::string_view temp_dir; // must outlive the body (the request's config does)
    };
    struct Read {
        Status status;
        std::size_t consumed; // input bytes taken, framing included
    };

    RequestBody() = default;
    ~RequestBody();
    RequestBody(const RequestBody&) = delete;
    RequestBody& operator=(const RequestBody&) = delete;

    // Starts a body framed as `framing` (Length or Chunked). Takes no memory yet.
    void begin(const http::Framing& framing, const Limits& limits);
    // Takes body bytes from the front of `from`'s input, never more than the body.
    Read read(net::Connection& from);

    std::uint64_t size() const { return size_; }
    bool spilled() const { return fd_ >= 0; }
    int file_error() const { return file_error_; } // errno of StorageFailed or a failed send()

    // Queues the body on `to` from where the last call stopped, while to's output is below
    // `high_mark`. True once all of it is queued; `failed` when the file could not be read.
    bool send(net::Connection& to, std::size_t high_mark, bool& failed);
    bool all_sent() const { return sent_ == size_; }
    void rewind() { sent_ = 0; } // the next send() starts again from the first byte

    // The request is over: the block goes back to the thread's spares, the file is closed and
    // the body is empty.
    void clear();
    // False when clear() has nothing to do (any body byte takes the block).
    bool holds_resources() const { return memory_ != nullptr || fd_ >= 0; }

private:
    bool append(std::string_view bytes);
    bool open_file();

    http::Framing framing_;
    http::ChunkedDecoder chunked_;
    Limits limits_;
    core::Block memory_;
    std::size_t memory_size_ = 0; // the block's size when taken
    std::uint64_t size_ = 0;      // bytes held: the first memory_size_ in memory, the rest in fd_
    std::uint64_t left_ = 0;      // Content-Length bytes still to read
    std::uint64_t sent_ = 0;
    int fd_ = -1;
    int file_error_ = 0;
};

// Says on stderr, at most once a minute per worker, that bodies cannot spill to `dir`.
void report_body_file_failure(WorkerContext& ctx, std::string_view dir, int error);

} // namespace lacquer::proxy
