#pragma once
// Writing message heads. Output goes into a caller-owned std::string that is reused from one
// request to the next (clear() keeps its capacity), so steady state allocates nothing.

#include "lacquer/http/head.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::http {

std::string_view reason_phrase(int status);

// What the proxy adds when it forwards a request, and which client headers go on with it.
struct ForwardedRequest {
    std::string_view target;      // origin-form target to send
    std::string_view client_addr; // appended to X-Forwarded-For
    // The Host the origin receives: the authority the request was routed and keyed under, in
    // place of the client's Host line. Empty: the client's own Host goes on as sent.
    std::string_view host;
    Framing body;            // how the body is sent upstream (None, Length or Chunked)
    std::string_view method; // empty: the request's own
    // nullptr: the rules below choose; otherwise only Host and these names go on.
    const std::vector<std::string>* allowed_headers = nullptr;
    // Headers the proxy sets; client headers of the same names are dropped, so a client can
    // never choose their values.
    std::span<const Header> set_headers;
    // Client headers never sent (a route's variant sources: the origin gets the normalised
    // value instead); nullptr: none.
    const std::vector<std::string>* withheld_headers = nullptr;
    // A field name with '_' is dropped unless this is set or allowed_headers names it: CGI,
    // WSGI and PHP-FPM stacks read "X_Forwarded_Host" as X-Forwarded-Host (nginx's
    // underscores_in_headers).
    bool allow_underscores = false;
    // A fetch whose answer the cache stores for other clients. It never carries the
    // conditional and range headers (the proxy fetches a whole object), nor the client's
    // X-Forwarded-For chain, nor, when allowed_headers is nullptr, any header that names the
    // client's address or asks the origin to answer for another host, URL, scheme, port or
    // method (is_client_routing_header): unkeyed, they would poison the stored answer.
    bool shared_fetch = false;
    // With shared_fetch and no allowed_headers, on a named route: only the headers that
    // describe the representation the client accepts go on (is_representation_header).
    bool representation_only = false;
    // A value no origin may see (the admin token): a header whose value contains it is not
    // sent, whatever its name, and neither is such a Via or X-Forwarded-For value. Empty: none.
    std::string_view secret;
};

// Headers that describe the client's address or route the request elsewhere: X-Forwarded-*,
// X-Original-*, X-Rewrite-*, X-Override-*, Forwarded, X-Host, method overrides, and
// client-address headers (X-Real-IP, True-Client-IP, ...: any name ending in "-IP" or "-Addr").
bool is_client_routing_header(std::string_view name);
// Accept, Accept-Encoding, Accept-Language, Accept-Charset: what a named cache route's shared
// fetch forwards when the route has no forward_headers.
bool is_representation_header(std::string_view name);

// True when the client header `name` goes to the origin under `forwarded`'s header rules.
bool forwards_header(const ForwardedRequest& forwarded, std::string_view name);

// The request head sent to an origin: hop-by-hop headers and Expect dropped, Via and
// X-Forwarded-For added, framing rewritten; always HTTP/1.1 with keep-alive. Host always goes
// on (a client's Connection header cannot remove it), with forwarded.host as its value when set.
// At least the bytes write_upstream_request appends (reserve that much first).
std::size_t upstream_request_size(const RequestHead& request, const ForwardedRequest& forwarded);
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
// Fields named in `dropped` are left out (a route's consumed RFC 9213 targeted fields).
void write_response_lines(std::string& out, const ResponseHead& response,
                          std::span<const std::string> dropped = {});
void write_response_end(std::string& out, const ClientResponseFraming& framing);

// The head a cache keeps (StoredObject::head), smaller than what the client first got: the
// end-to-end headers without Age, the origin's own Via lines as they came, and the status line
// only when its reason phrase is not the standard one. Delivery writes the rest: the status
// line (stored_status_line, else write_status_line), kOwnVia, Age and the framing.
void write_stored_lines(std::string& out, const ResponseHead& response,
                        std::span<const std::string> dropped = {});
// At least the bytes write_stored_lines appends for `response` (reserve that much first).
std::size_t stored_lines_size(const ResponseHead& response);
// The status line a stored head starts with (a header line never starts with "HTTP/"), or
// empty: the standard one goes first.
std::string_view stored_status_line(std::string_view head);
// "HTTP/1.1 <status> <standard reason phrase>\r\n", written into `buf`.
inline constexpr std::size_t kStatusLineMax = 64;
std::string_view write_status_line(std::span<char, kStatusLineMax> buf, int status);
inline constexpr std::string_view kOwnVia = "Via: 1.1 lacquer\r\n";

// A complete short answer made by the proxy itself (errors, 100 Continue excluded).
// `date_line` ("Date: ...\r\n", RFC 9110 §6.6.1) goes into its head when not empty;
// `retry_after` (seconds, when not 0) adds Retry-After (a 503 of an origin's admission limit).
void write_synthetic_response(std::string& out, int status, bool close, bool head_only = false,
                              std::string_view date_line = {}, std::uint32_t retry_after = 0);
// A complete answer with `body` (not cacheable), e.g. the JSON of a PURGE.
void write_text_response(std::string& out, int status, std::string_view content_type,
                         std::string_view body, bool close, bool head_only = false,
                         std::string_view date_line = {}, std::uint32_t retry_after = 0);

// Chunk framing around data the caller moves itself.
void write_chunk_header(std::string& out, std::uint64_t size);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

} // namespace lacquer::http
