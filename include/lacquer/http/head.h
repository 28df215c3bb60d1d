#pragma once
// Request and response heads as views. The bytes live in the HeadParser's fixed storage (the
// connection's head arena) and stay valid until the parser is reset for the next message.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lacquer::http {

inline constexpr std::size_t kMaxHeaders = 128; // more -> 431

struct Header {
    std::string_view name;
    std::string_view value;
};

// ASCII case-insensitive equality, as header names and tokens compare.
bool iequals(std::string_view a, std::string_view b);

struct HeaderList {
    // Only items[0, count) are ever read, so the rest is left unwritten: zeroing all 128 (4 KiB)
    // for each head of every parser made a new connection cost ~16 KiB of stores.
    HeaderList() {} // NOLINT(modernize-use-equals-default): `= default` would zero items
    union {
        Header items[kMaxHeaders];
    };
    std::size_t count = 0;

    const Header* begin() const { return items; }
    const Header* end() const { return items + count; }
    // The first header of that name, or nullptr.
    const Header* find(std::string_view name) const;
    std::size_t count_of(std::string_view name) const;
};

// How a message body is delimited on the wire (RFC 9112 §6.3).
struct Framing {
    enum class Kind : std::uint8_t { None, Length, Chunked, UntilClose };
    Kind kind = Kind::None;
    std::uint64_t length = 0; // when kind == Length
};

struct RequestHead {
    std::string_view method; // a token accepted by llhttp, e.g. "GET"
    std::string_view target; // request-target as sent (origin-form or absolute-form)
    std::uint8_t version_major = 1;
    std::uint8_t version_minor = 1;
    HeaderList headers;
    Framing framing;
    bool keep_alive = true; // the client may send another request after this one
    bool expect_continue = false;

    bool is_head() const { return method == "HEAD"; }
    bool is_get() const { return method == "GET"; }
};

struct ResponseHead {
    int status = 0;
    std::string_view reason;
    std::uint8_t version_major = 1;
    std::uint8_t version_minor = 1;
    HeaderList headers;
    Framing framing;
    bool keep_alive = true; // the origin connection may be reused after this response
    // The Content-Length the origin declared, also when no body follows (HEAD, 304).
    bool has_content_length = false;
    std::uint64_t content_length = 0;
};

} // namespace lacquer::http
