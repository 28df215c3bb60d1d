#pragma once
// Writing message heads. Output goes into a caller-owned std::string that is reused from one
// request to the next (clear() keeps its capacity), so steady state allocates nothing.

#include "lacquer/http/head.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::http {

std::string_view reason_phrase(int status);

// What the proxy adds when it forwards a request.
struct ForwardedRequest {
    std::string_view target;      // origin-form target to send
    std::string_view client_addr; // appended to X-Forwarded-For
    // The Host sent when the request has none (HTTP/1.0): an origin always gets exactly one.
    std::string_view default_host;
    Framing body;            // how the body is sent upstream (None, Length or Chunked)
    std::string_view method; // empty: the request's own
    // nullptr: every end-to-end header goes on; otherwise only Host and these names.
    const std::vector<std::string>* allowed_headers = nullptr;
    // Headers the proxy sets; client headers of the same names are dropped, so a client can
    // never choose their values.
    std::span<const Header> set_headers;
    // A fetch whose answer the cache stores for other clients: the conditional and range
    // headers are dropped (the proxy fetches a whole object), and, when every header is
    // forwarded (allowed_headers == nullptr), so are the ones that ask an origin to answer for
    // another host, URL or method (is_request_override_header): unkeyed, they would poison it.
    bool shared_fetch = false;
    // A value no origin may see (the admin token): a header whose value contains it is not
    // sent, whatever its name, and neither is such a Via or X-Forwarded-For value. Empty: none.
    std::string_view secret;
};

// X-Forwarded-Host, X-Forwarded-Server, X-Host, Forwarded, X-Original-URL, X-Rewrite-URL,
// X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override.
bool is_request_override_header(std::string_view name);

// True when `name` goes to the origin under `forwarded`'s header rules.
bool forwards_header(const ForwardedRequest& forwarded, std::string_view name);

// The request head sent to an origin: hop-by-hop headers and Expect dropped, Via and
// X-Forwarded-For added, framing rewritten; always HTTP/1.1 with keep-alive. Host always goes
// on (a client's Connection header cannot remove it), or default_host when there is none.
void write_upstream_request(std::string& out, const RequestHead& request,
                            const ForwardedRequest& forwarded);

// The response head sent to a client: hop-by-hop headers dropped, Via added, framing as given
// (Length, Chunked, or None/UntilClose), Connection: close when the connection will close.
struct ClientResponseFraming {
    Framing body;
    bool close = false;
    bool http10_client = false; // answer an HTTP/1.0 client with its own keep-alive rules
};
void write_client_response(std::string& out, const ResponseHead& response,
                           const ClientResponseFraming& framing);

// The two halves of write_client_response, for heads the proxy keeps or extends:
// the status line and end-to-end headers plus Via (each line ending in CRLF), then the framing,
// Connection and the blank line.
void write_response_lines(std::string& out, const ResponseHead& response);
void write_response_end(std::string& out, const ClientResponseFraming& framing);

// The head a cache keeps (StoredObject::head), smaller than what the client first got: the
// end-to-end headers without Age, the origin's own Via lines as they came, and the status line
// only when its reason phrase is not the standard one. Delivery writes the rest: the status
// line (stored_status_line, else write_status_line), kOwnVia, Age and the framing.
void write_stored_lines(std::string& out, const ResponseHead& response);
// The status line a stored head starts with (a header line never starts with "HTTP/"), or
// empty: the standard one goes first.
std::string_view stored_status_line(std::string_view head);
// "HTTP/1.1 <status> <standard reason phrase>\r\n", written into `buf`.
inline constexpr std::size_t kStatusLineMax = 64;
std::string_view write_status_line(std::span<char, kStatusLineMax> buf, int status);
inline constexpr std::string_view kOwnVia = "Via: 1.1 lacquer\r\n";

// A complete short answer made by the proxy itself (errors, 100 Continue excluded).
void write_synthetic_response(std::string& out, int status, bool close, bool head_only = false);
// A complete answer with `body` (not cacheable), e.g. the JSON of a PURGE.
void write_text_response(std::string& out, int status, std::string_view content_type,
                         std::string_view body, bool close, bool head_only = false);

// Chunk framing around data the caller moves itself.
void write_chunk_header(std::string& out, std::uint64_t size);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

} // namespace lacquer::http
