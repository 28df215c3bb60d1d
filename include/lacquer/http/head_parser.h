#pragma once
// Incremental parser for one HTTP/1.1 message head (llhttp underneath, strict mode). It stops
// right after the head: bodies are framed by the caller (Framing, ChunkedDecoder), which lets
// body bytes move between connections without passing through llhttp or being copied.
// Its working memory (a fixed head storage of `max_head_bytes`, which never grows, llhttp's state
// and the parsed head with its header array: ~36 KiB with the default limits) is one spare block
// (core/spare_blocks.h) taken when the first byte of a message is fed and given back by reset(),
// so an idle parser (a keep-alive connection between requests) holds ~100 bytes.
// Not thread-safe; one per connection.

#include "lacquer/core/assert.h"
#include "lacquer/http/head.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lacquer::http {

// Why a head was refused. Names and HTTP statuses come from one list.
#define LACQUER_HEAD_ERRORS(X)                                                                     \
    X(None, 0)                                                                                     \
    X(Malformed, 400)                                                                              \
    X(BadFraming, 400)                                                                             \
    X(MissingHost, 400)                                                                            \
    X(HeadTooLarge, 431)                                                                           \
    X(TooManyHeaders, 431)                                                                         \
    X(UriTooLong, 414)                                                                             \
    X(VersionNotSupported, 505)

enum class HeadError : std::uint8_t {
#define LACQUER_AS_ENUM(name, status) name,
    LACQUER_HEAD_ERRORS(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view head_error_name(HeadError error);
int head_error_status(HeadError error);

enum class HeadKind : std::uint8_t { Request, Response };

struct HeadLimits {
    std::size_t max_head_bytes = 32 * 1024;
    std::size_t max_uri_bytes = 8 * 1024;
};

class HeadParser {
public:
    enum class Status : std::uint8_t { NeedMore, Complete, Error };
    struct Fed {
        Status status;
        std::size_t consumed; // bytes of `data` that belong to the head (all of them on NeedMore)
    };

    HeadParser(HeadKind kind, HeadLimits limits);
    ~HeadParser();
    HeadParser(const HeadParser&) = delete;
    HeadParser& operator=(const HeadParser&) = delete;

    // Feeds the next bytes of the stream. After Complete, the head is in request()/response()
    // and the bytes after `consumed` are body or the next message. After Error, error() says why;
    // the parser stays in error until reset().
    Fed feed(const char* data, std::size_t length);

    // For responses: the request's method decides whether a body follows (HEAD: never).
    void expect_response_to(std::string_view request_method);

    // Ready for the next message on the same connection: the working memory goes back to the
    // thread's spares until the next feed(), and the head read so far is gone.
    void reset();
    // The same, but the working memory stays for the next message (a connection that is busy:
    // its next request is already here or soon will be). reset() gives it back later.
    void restart();

    bool started() const { return head_bytes_ > 0; }
    // Bytes of the current head taken so far (the access log's request_bytes).
    std::size_t head_bytes() const { return head_bytes_; }
    // The working memory is held (from the first byte fed until reset()).
    bool holds_memory() const { return work_ != nullptr; }
    HeadError error() const { return error_; }
    // The head of the parser's kind: request() for HeadKind::Request, response() otherwise.
    // Empty (no method, no headers) while nothing has been fed since reset().
    const RequestHead& request() const {
        LACQUER_ASSERT(kind_ == HeadKind::Request);
        return request_ != nullptr ? *request_ : kNoRequest;
    }
    const ResponseHead& response() const {
        LACQUER_ASSERT(kind_ == HeadKind::Response);
        return response_ != nullptr ? *response_ : kNoResponse;
    }

private:
    struct Callbacks;
    struct Work; // llhttp's state and the head; the head storage follows it in the same block
    enum class Element : std::uint8_t { None, Method, Url, Status, Field, Value };

    void append(Element element, const char* at, std::size_t length);
    std::string_view finish_element();
    void fail(HeadError error);
    void take_work();
    void init_work(); // a fresh head and llhttp state in the held working memory
    void give_work() noexcept;
    void reset_state();
    bool finish_head();
    bool starts_a_folded_line(const char* data, std::size_t length);
    bool finish_request();
    bool finish_response();

    HeadKind kind_;
    HeadLimits limits_;
    Work* work_ = nullptr;    // a spare block while a message is read (take_work())
    char* storage_ = nullptr; // max_head_bytes, in work_'s block
    // The head of the parser's kind in work_, else nullptr (the other kind's is always nullptr).
    RequestHead* request_ = nullptr;
    ResponseHead* response_ = nullptr;
    static const RequestHead kNoRequest; // what a parser without a message shows
    static const ResponseHead kNoResponse;
    std::size_t used_ = 0;
    std::size_t element_start_ = 0;
    Element element_ = Element::None;
    std::string_view pending_name_;
    std::size_t head_bytes_ = 0;
    const char* feed_base_ = nullptr; // the buffer of the feed() in progress
    // Stream offset just past the current value's last fragment; kValueNotStarted before one.
    static constexpr std::size_t kValueNotStarted = static_cast<std::size_t>(-1);
    std::size_t value_end_ = kValueNotStarted;
    bool message_begun_ = false; // a byte other than CR/LF has been fed for this message
    bool leading_cr_ = false;    // the last byte before the message was a CR
    bool after_lf_ = false;      // the last head byte fed was a LF: a line starts next
    HeadError error_ = HeadError::None;
    bool response_to_head_ = false;
    HeaderList* headers_ = nullptr;
};

} // namespace lacquer::http
