// libFuzzer target: HTTP/1.1 request and response heads -> HeadParser. Every message is parsed
// twice: fed whole, and fed in pieces (split at a fuzzer-chosen point, or byte by byte, each
// piece in its own heap copy that is freed right after the feed). Beyond "no crash":
// - consumed <= the bytes given, == them on NeedMore, 0 on Error; an Error sticks until reset();
// - both feedings agree on the outcome, the error (but for which limit trips first), the head's
//   length and every field of the head;
// - a Complete head ends with LF and has no CR that is not followed by LF;
// - its views lie in the parser's own storage, in order, without overlap, within max_head_bytes,
//   never in the caller's buffer (ASan watches the freed pieces);
// - names are tokens, values carry no CTL and no outer whitespace, HTTP/1.1 requests have one Host;
// - the framing agrees with the raw Content-Length / Transfer-Encoding fields, so no smuggling
//   shape (CL+TE, duplicate CL, CL with junk) gets a second reading.
// Pipelined messages are read after reset() (up to kMaxMessages), skipping Content-Length and
// chunked bodies, so one input also covers the parser's reuse.
//
// Input: byte 0 = flags (bit 0: responses, bit 1: responses to HEAD, bits 2-3: limits, bit 4:
// byte-by-byte pieces, bit 5: an empty feed before every piece); byte 1 = split point as a
// fraction (n/255) of each message's bytes; the rest is the stream.
#include "lacquer/http/head_parser.h"

#include "lacquer/core/assert.h"
#include "lacquer/http/chunked.h"
#include "lacquer/http/head.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer;
using namespace lacquer::http;
using Status = HeadParser::Status;

constexpr int kMaxMessages = 8;

constexpr std::array<HeadLimits, 4> kLimits{HeadLimits{}, HeadLimits{512, 128}, HeadLimits{64, 16},
                                            HeadLimits{16, 8}};

struct Options {
    HeadKind kind = HeadKind::Request;
    bool to_head = false;
    HeadLimits limits;
    bool bytewise = false;
    bool empty_feeds = false;
    std::uint8_t split = 0;
};

struct Outcome {
    Status status;
    std::size_t consumed; // of the whole message stream, on Complete
    HeadError error;
};

// llhttp reports a URL (or other element) span only when it ends or when the bytes given run
// out, so a length limit can trip on a piece's end before llhttp sees a bad byte further on that
// a whole feed reports first: 414/431 versus 400, both refusing the same bytes.
bool is_limit(HeadError error) {
    return error == HeadError::UriTooLong || error == HeadError::HeadTooLarge;
}

// Checks what one feed() promises, whatever the input.
void check_fed(const HeadParser& parser, HeadParser::Fed fed, std::size_t given) {
    LACQUER_ASSERT(fed.consumed <= given);
    switch (fed.status) {
    case Status::NeedMore:
        LACQUER_ASSERT(fed.consumed == given);
        LACQUER_ASSERT(parser.error() == HeadError::None);
        break;
    case Status::Complete:
        LACQUER_ASSERT(fed.consumed > 0 || given == 0);
        LACQUER_ASSERT(parser.error() == HeadError::None);
        LACQUER_ASSERT(parser.started());
        break;
    case Status::Error: {
        LACQUER_ASSERT(fed.consumed == 0);
        LACQUER_ASSERT(parser.error() != HeadError::None);
        const int status = head_error_status(parser.error());
        LACQUER_ASSERT(status >= 400 && status <= 599);
        LACQUER_ASSERT(!head_error_name(parser.error()).empty());
        break;
    }
    }
}

void prepare(HeadParser& parser, const Options& options) {
    parser.reset();
    LACQUER_ASSERT(!parser.started() && parser.error() == HeadError::None);
    if (options.kind == HeadKind::Response) {
        parser.expect_response_to(options.to_head ? "HEAD" : "GET");
    }
}

// An Error sticks: more bytes change nothing until reset().
void check_sticky_error(HeadParser& parser, std::string_view more) {
    const HeadError error = parser.error();
    const HeadParser::Fed again = parser.feed(more.data(), more.size());
    LACQUER_ASSERT(again.status == Status::Error && again.consumed == 0);
    LACQUER_ASSERT(parser.error() == error);
}

Outcome feed_whole(HeadParser& parser, std::string_view stream) {
    const HeadParser::Fed fed = parser.feed(stream.data(), stream.size());
    check_fed(parser, fed, stream.size());
    if (fed.status == Status::Error) {
        check_sticky_error(parser, stream);
    }
    return {fed.status, fed.consumed, parser.error()};
}

// Feeds `stream` in pieces, each from a heap copy freed after the feed: a view that pointed into
// the caller's bytes instead of the parser's storage would be a use-after-free under ASan.
Outcome feed_pieces(HeadParser& parser, std::string_view stream, const Options& options) {
    const std::size_t split = stream.size() * options.split / 255;
    std::size_t offset = 0;
    for (int piece = 0;; ++piece) {
        std::size_t n = options.bytewise ? 1 : (piece == 0 ? split : stream.size() - offset);
        n = std::min(n, stream.size() - offset);
        if (options.empty_feeds) {
            const char nothing = 0;
            const HeadParser::Fed fed = parser.feed(&nothing, 0);
            LACQUER_ASSERT(fed.status == Status::NeedMore && fed.consumed == 0);
        }
        const auto copy = std::make_unique<char[]>(n + 1);
        std::memcpy(copy.get(), stream.data() + offset, n);
        const HeadParser::Fed fed = parser.feed(copy.get(), n);
        check_fed(parser, fed, n);
        if (fed.status == Status::Complete) {
            return {Status::Complete, offset + fed.consumed, HeadError::None};
        }
        if (fed.status == Status::Error) {
            return {Status::Error, 0, parser.error()};
        }
        offset += n;
        if (offset == stream.size() && piece > 0) {
            return {Status::NeedMore, offset, HeadError::None};
        }
    }
}

// Lines end in CRLF (or a bare LF, which RFC 9112 §2.2 lets a recipient accept): a CR followed
// by anything else must not end a line, or the parser reads a message boundary where another
// hop reads none (CVE-2023-30589).
void check_line_ends(std::string_view head) {
    for (std::size_t cr = head.find('\r'); cr != std::string_view::npos;
         cr = head.find('\r', cr + 1)) {
        LACQUER_ASSERT(cr + 1 < head.size() && head[cr + 1] == '\n');
    }
}

bool is_token(std::string_view v) {
    if (v.empty()) {
        return false;
    }
    return std::all_of(v.begin(), v.end(), [](char c) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        return alnum || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

bool is_ctl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// The views of a head, in the order the parser stores them.
std::vector<std::string_view> views_of(const HeaderList& headers, std::string_view first,
                                       std::string_view second) {
    std::vector<std::string_view> views{first, second};
    for (const Header& h : headers) {
        views.push_back(h.name);
        views.push_back(h.value);
    }
    return views;
}

// Views lie in one storage of max_head_bytes, in order, without overlap, outside `input`.
void check_storage(const std::vector<std::string_view>& views, std::string_view input,
                   const HeadLimits& limits) {
    const auto address = [](const char* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const std::uintptr_t in_begin = address(input.data());
    const std::uintptr_t in_end = in_begin + input.size();
    std::optional<std::uintptr_t> first;
    std::uintptr_t end = 0;
    for (const std::string_view view : views) {
        if (view.data() == nullptr) {
            LACQUER_ASSERT(view.empty());
            continue;
        }
        const std::uintptr_t begin = address(view.data());
        LACQUER_ASSERT(begin + view.size() <= in_begin || begin >= in_end);
        if (!first) {
            first = begin;
        } else {
            LACQUER_ASSERT(begin >= end);
        }
        end = begin + view.size();
        LACQUER_ASSERT(end - *first <= limits.max_head_bytes);
    }
}

void check_fields(const HeaderList& headers) {
    LACQUER_ASSERT(headers.count <= kMaxHeaders);
    for (const Header& h : headers) {
        LACQUER_ASSERT(is_token(h.name));
        LACQUER_ASSERT(std::none_of(h.value.begin(), h.value.end(),
                                    [](char c) { return is_ctl(c) && c != '\t'; }));
        if (!h.value.empty()) {
            LACQUER_ASSERT(h.value.front() != ' ' && h.value.front() != '\t');
            LACQUER_ASSERT(h.value.back() != ' ' && h.value.back() != '\t');
        }
    }
}

// The one Content-Length value as a number, or nullopt when it is not plain digits.
std::optional<std::uint64_t> content_length(const HeaderList& headers) {
    const Header* cl = headers.find("Content-Length");
    LACQUER_ASSERT(cl != nullptr);
    if (cl->value.empty()) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : cl->value) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - digit) / 10) {
            return std::nullopt; // leading zeros are fine, overflow is not
        }
        n = n * 10 + digit;
    }
    return n;
}

// The last transfer coding is "chunked". Several Transfer-Encoding fields form one list (RFC 9112
// §5.3), so the last coding is that of the last field.
bool ends_chunked(const HeaderList& headers) {
    const Header* te = nullptr;
    for (const Header& h : headers) {
        if (iequals(h.name, "Transfer-Encoding")) {
            te = &h;
        }
    }
    LACQUER_ASSERT(te != nullptr);
    std::string_view v = te->value;
    const std::size_t comma = v.rfind(',');
    if (comma != std::string_view::npos) {
        v.remove_prefix(comma + 1);
    }
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    return iequals(v, "chunked");
}

void check_request(const RequestHead& r) {
    LACQUER_ASSERT(is_token(r.method));
    LACQUER_ASSERT(!r.target.empty());
    LACQUER_ASSERT(std::none_of(r.target.begin(), r.target.end(),
                                [](char c) { return c == ' ' || is_ctl(c); }));
    LACQUER_ASSERT(r.version_major == 1 && r.version_minor <= 1);
    check_fields(r.headers);
    const HeaderList& h = r.headers;
    const std::size_t hosts = h.count_of("Host");
    LACQUER_ASSERT(hosts <= 1 && (r.version_minor == 0 || hosts == 1));

    // Smuggling: exactly one reading of where the body ends.
    const std::size_t cls = h.count_of("Content-Length");
    const std::size_t tes = h.count_of("Transfer-Encoding");
    LACQUER_ASSERT(cls <= 1 && tes <= 1 && cls + tes <= 1);
    switch (r.framing.kind) {
    case Framing::Kind::Chunked:
        LACQUER_ASSERT(tes == 1 && ends_chunked(h));
        break;
    case Framing::Kind::Length:
        LACQUER_ASSERT(cls == 1 && r.framing.length > 0);
        LACQUER_ASSERT(content_length(h) == r.framing.length);
        break;
    case Framing::Kind::None:
        LACQUER_ASSERT(tes == 0);
        LACQUER_ASSERT(cls == 0 || content_length(h) == 0u);
        break;
    case Framing::Kind::UntilClose:
        LACQUER_ASSERT(false); // a request body never runs to the close
    }
    if (r.expect_continue) {
        LACQUER_ASSERT(r.version_minor == 1 && h.find("Expect") != nullptr);
    }
    if (h.find("Connection") == nullptr) {
        LACQUER_ASSERT(r.keep_alive == (r.version_minor == 1));
    }
}

void check_response(const ResponseHead& r, bool to_head) {
    LACQUER_ASSERT(r.status >= 100 && r.status <= 999);
    LACQUER_ASSERT(r.version_major == 1);
    LACQUER_ASSERT(std::none_of(r.reason.begin(), r.reason.end(),
                                [](char c) { return is_ctl(c) && c != '\t'; }));
    check_fields(r.headers);
    const HeaderList& h = r.headers;
    const std::size_t cls = h.count_of("Content-Length");
    const std::size_t tes = h.count_of("Transfer-Encoding");
    LACQUER_ASSERT(cls <= 1 && (cls == 0 || tes == 0));
    LACQUER_ASSERT(r.has_content_length == (cls == 1));
    if (r.has_content_length) {
        LACQUER_ASSERT(content_length(h) == r.content_length);
    } else {
        LACQUER_ASSERT(r.content_length == 0);
    }
    const bool no_body = to_head || r.status < 200 || r.status == 204 || r.status == 304;
    switch (r.framing.kind) {
    case Framing::Kind::None:
        LACQUER_ASSERT(no_body || (cls == 1 && r.content_length == 0));
        break;
    case Framing::Kind::Length:
        LACQUER_ASSERT(!no_body && cls == 1 && r.framing.length == r.content_length);
        LACQUER_ASSERT(r.framing.length > 0);
        break;
    case Framing::Kind::Chunked:
        // Unlike requests, responses may carry several Transfer-Encoding fields.
        LACQUER_ASSERT(!no_body && tes >= 1 && ends_chunked(h));
        break;
    case Framing::Kind::UntilClose:
        LACQUER_ASSERT(!no_body && cls == 0);
        LACQUER_ASSERT(!r.keep_alive);
        break;
    }
}

bool same_headers(const HeaderList& a, const HeaderList& b) {
    return a.count == b.count && std::equal(a.begin(), a.end(), b.begin(), [](auto& x, auto& y) {
               return x.name == y.name && x.value == y.value;
           });
}

bool same_framing(const Framing& a, const Framing& b) {
    return a.kind == b.kind && a.length == b.length;
}

void check_same(const HeadParser& a, const HeadParser& b, HeadKind kind) {
    if (kind == HeadKind::Request) {
        const RequestHead& x = a.request();
        const RequestHead& y = b.request();
        LACQUER_ASSERT(x.method == y.method && x.target == y.target);
        LACQUER_ASSERT(x.version_major == y.version_major && x.version_minor == y.version_minor);
        LACQUER_ASSERT(same_headers(x.headers, y.headers));
        LACQUER_ASSERT(same_framing(x.framing, y.framing));
        LACQUER_ASSERT(x.keep_alive == y.keep_alive && x.expect_continue == y.expect_continue);
    } else {
        const ResponseHead& x = a.response();
        const ResponseHead& y = b.response();
        LACQUER_ASSERT(x.status == y.status && x.reason == y.reason);
        LACQUER_ASSERT(x.version_major == y.version_major && x.version_minor == y.version_minor);
        LACQUER_ASSERT(same_headers(x.headers, y.headers));
        LACQUER_ASSERT(same_framing(x.framing, y.framing));
        LACQUER_ASSERT(x.keep_alive == y.keep_alive);
        LACQUER_ASSERT(x.has_content_length == y.has_content_length &&
                       x.content_length == y.content_length);
    }
}

// Bytes of the body that follows a head, or nullopt when the stream ends inside it (or it runs
// to the close, or its chunked framing is broken).
std::optional<std::size_t> body_length(const Framing& framing, std::string_view rest) {
    switch (framing.kind) {
    case Framing::Kind::None:
        return 0;
    case Framing::Kind::Length:
        if (framing.length > rest.size()) {
            return std::nullopt;
        }
        return static_cast<std::size_t>(framing.length);
    case Framing::Kind::Chunked: {
        ChunkedDecoder decoder;
        std::size_t at = 0;
        for (;;) {
            const ChunkedDecoder::Step step = decoder.next(rest.substr(at));
            at += step.consumed;
            if (step.status == ChunkedDecoder::Status::Done) {
                return at;
            }
            if (step.status != ChunkedDecoder::Status::Data) {
                return std::nullopt;
            }
            const std::uint64_t take =
                std::min<std::uint64_t>(decoder.data_pending(), rest.size() - at);
            if (take == 0) {
                return std::nullopt;
            }
            decoder.data_taken(take);
            at += static_cast<std::size_t>(take);
        }
    }
    case Framing::Kind::UntilClose:
        return std::nullopt;
    }
    return std::nullopt;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    Options options;
    options.kind = (data[0] & 1) != 0 ? HeadKind::Response : HeadKind::Request;
    options.to_head = (data[0] & 2) != 0;
    options.limits = kLimits[(data[0] >> 2) & 3];
    options.bytewise = (data[0] & 0x10) != 0;
    options.empty_feeds = (data[0] & 0x20) != 0;
    options.split = data[1];
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    HeadParser whole(options.kind, options.limits);
    HeadParser pieces(options.kind, options.limits);
    std::string_view rest = input;
    for (int message = 0; message < kMaxMessages && !rest.empty(); ++message) {
        prepare(whole, options);
        prepare(pieces, options);
        const Outcome a = feed_whole(whole, rest);
        const Outcome b = feed_pieces(pieces, rest, options);
        LACQUER_ASSERT(a.status == b.status);
        LACQUER_ASSERT(a.error == b.error || is_limit(a.error) || is_limit(b.error));
        if (a.status != Status::Complete) {
            return 0;
        }
        LACQUER_ASSERT(a.consumed == b.consumed);
        LACQUER_ASSERT(a.consumed <= options.limits.max_head_bytes);
        LACQUER_ASSERT(rest[a.consumed - 1] == '\n');
        check_line_ends(rest.substr(0, a.consumed));
        check_same(whole, pieces, options.kind);

        Framing framing;
        if (options.kind == HeadKind::Request) {
            const RequestHead& r = whole.request();
            check_request(r);
            check_storage(views_of(r.headers, r.method, r.target), input, options.limits);
            framing = r.framing;
        } else {
            const ResponseHead& r = whole.response();
            check_response(r, options.to_head);
            check_storage(views_of(r.headers, r.reason, {}), input, options.limits);
            framing = r.framing;
        }
        rest.remove_prefix(a.consumed);
        const std::optional<std::size_t> body = body_length(framing, rest);
        if (!body) {
            return 0;
        }
        rest.remove_prefix(*body);
    }
    return 0;
}
