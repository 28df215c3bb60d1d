#include "lacquer/http/serialize.h"

#include "lacquer/http/headers.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace lacquer::http {

namespace {

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

bool carries(const Header& h, std::string_view secret) {
    return !secret.empty() && h.value.find(secret) != std::string_view::npos;
}

// "name: " + every non-empty value of `name` in `headers`, in order, then `added`, comma
// separated: a list field the proxy extends (Via, X-Forwarded-For) keeps all its lines, unless
// the Connection header names it (then it was for the previous hop only) or `carry` is false.
void append_list_line(std::string& out, const HeaderList& headers, std::string_view name,
                      std::string_view added, bool carry = true, std::string_view secret = {}) {
    out.append(name);
    out.append(": ");
    const bool carried = carry && !is_connection_specific(headers, name);
    for (const Header& h : headers) {
        if (carried && iequals(h.name, name) && !h.value.empty() && !carries(h, secret)) {
            out.append(h.value);
            out.append(", ");
        }
    }
    out.append(added);
    out.append("\r\n");
}

void append_framing(std::string& out, const Framing& body) {
    switch (body.kind) {
    case Framing::Kind::Length:
        out.append("Content-Length: ");
        append_number(out, body.length);
        out.append("\r\n");
        break;
    case Framing::Kind::Chunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
    case Framing::Kind::None:
    case Framing::Kind::UntilClose:
        break;
    }
}

} // namespace

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

namespace {

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           iequals(text.substr(text.size() - suffix.size()), suffix);
}

bool icontains(std::string_view text, std::string_view part) {
    for (std::size_t i = 0; i + part.size() <= text.size(); ++i) {
        if (iequals(text.substr(i, part.size()), part)) {
            return true;
        }
    }
    return false;
}

bool is_listed(std::span<const std::string> names, std::string_view name) {
    return std::any_of(names.begin(), names.end(),
                       [name](const std::string& n) { return iequals(n, name); });
}

bool is_named(const std::vector<std::string>* names, std::string_view name) {
    return names != nullptr && is_listed(*names, name);
}

} // namespace

bool is_client_routing_header(std::string_view name) {
    // By shape rather than by a list of names: a new X-Forwarded-Whatever is covered too.
    static constexpr std::string_view kPrefixes[] = {"X-Forwarded-", "X-Original-", "X-Rewrite-",
                                                     "X-Override-"};
    static constexpr std::string_view kNames[] = {"Forwarded", "X-Forwarded", "X-Host",
                                                  "X-HTTP-Method"};
    for (std::string_view prefix : kPrefixes) {
        if (istarts_with(name, prefix)) {
            return true;
        }
    }
    for (std::string_view n : kNames) {
        if (iequals(name, n)) {
            return true;
        }
    }
    return icontains(name, "Method-Override") || iends_with(name, "-IP") ||
           iends_with(name, "-Addr");
}

bool is_representation_header(std::string_view name) {
    static constexpr std::string_view kNames[] = {"Accept", "Accept-Encoding", "Accept-Language",
                                                  "Accept-Charset"};
    return std::any_of(std::begin(kNames), std::end(kNames),
                       [name](std::string_view n) { return iequals(n, name); });
}

bool forwards_header(const ForwardedRequest& forwarded, std::string_view name) {
    for (const Header& h : forwarded.set_headers) {
        if (iequals(h.name, name)) {
            return false;
        }
    }
    if (is_named(forwarded.withheld_headers, name)) {
        return false;
    }
    const bool named = is_named(forwarded.allowed_headers, name);
    if (!forwarded.allow_underscores && !named && name.find('_') != std::string_view::npos) {
        return false;
    }
    if (forwarded.shared_fetch &&
        (iequals(name, "If-None-Match") || iequals(name, "If-Modified-Since") ||
         iequals(name, "If-Match") || iequals(name, "If-Unmodified-Since") ||
         iequals(name, "If-Range") || iequals(name, "Range"))) {
        return false;
    }
    if (forwarded.allowed_headers != nullptr) {
        return named || iequals(name, "Host");
    }
    if (!forwarded.shared_fetch) {
        return true;
    }
    if (forwarded.representation_only) {
        return is_representation_header(name);
    }
    return !is_client_routing_header(name);
}

std::size_t upstream_request_size(const RequestHead& request, const ForwardedRequest& forwarded) {
    // The request line, the client's lines, the proxy's, and the lists it extends.
    std::size_t size = request.method.size() + forwarded.method.size() + forwarded.target.size() +
                       forwarded.host.size() + 2 * forwarded.client_addr.size() + 256;
    for (const Header& h : request.headers) {
        size += h.name.size() + 2 + h.value.size() + 2;
    }
    for (const Header& h : forwarded.set_headers) {
        size += h.name.size() + 2 + h.value.size() + 2;
    }
    return size;
}

void write_upstream_request(std::string& out, const RequestHead& request,
                            const ForwardedRequest& forwarded) {
    out.append(forwarded.method.empty() ? request.method : forwarded.method);
    out.push_back(' ');
    out.append(forwarded.target);
    out.append(" HTTP/1.1\r\n");
    bool host = false;
    for (const Header& h : request.headers) {
        if (carries(h, forwarded.secret)) {
            continue; // the admin token is the admin port's, never an origin's
        }
        if (iequals(h.name, "Host")) {
            host = true; // end-to-end whatever Connection says (RFC 9110 §7.2)
            append_header(out, h.name, forwarded.host.empty() ? h.value : forwarded.host);
            continue;
        }
        if (is_connection_specific(request.headers, h.name) || iequals(h.name, "Expect")) {
            continue;
        }
        if (iequals(h.name, "X-Forwarded-For") || iequals(h.name, "Via")) {
            continue; // folded into one line each below, with this hop appended
        }
        if (forwards_header(forwarded, h.name)) {
            append_header(out, h.name, h.value);
        }
    }
    if (!host) {
        append_header(out, "Host", forwarded.host);
    }
    for (const Header& h : forwarded.set_headers) {
        append_header(out, h.name, h.value);
    }
    // A shared answer may not depend on an address chain the client wrote itself.
    append_list_line(out, request.headers, "X-Forwarded-For", forwarded.client_addr,
                     !forwarded.shared_fetch, forwarded.secret);
    append_list_line(out, request.headers, "Via",
                     request.version_minor == 0 ? "1.0 lacquer" : "1.1 lacquer", true,
                     forwarded.secret);
    append_framing(out, forwarded.body);
    out.append("\r\n");
}

void write_response_lines(std::string& out, const ResponseHead& response,
                          std::span<const std::string> dropped) {
    out.append("HTTP/1.1 "); // our version, whatever the client speaks (RFC 9110 §6.2)
    append_number(out, static_cast<std::uint64_t>(response.status));
    out.push_back(' ');
    out.append(response.reason.empty() ? reason_phrase(response.status) : response.reason);
    out.append("\r\n");
    for (const Header& h : response.headers) {
        if (!is_connection_specific(response.headers, h.name) && !iequals(h.name, "Via") &&
            !is_listed(dropped, h.name)) {
            append_header(out, h.name, h.value);
        }
    }
    append_list_line(out, response.headers, "Via", "1.1 lacquer");
}

void write_stored_lines(std::string& out, const ResponseHead& response,
                        std::span<const std::string> dropped) {
    const std::string_view standard = reason_phrase(response.status);
    if (!response.reason.empty() && response.reason != standard) {
        out.append("HTTP/1.1 ");
        append_number(out, static_cast<std::uint64_t>(response.status));
        out.push_back(' ');
        out.append(response.reason);
        out.append("\r\n");
    }
    for (const Header& h : response.headers) {
        if (!is_connection_specific(response.headers, h.name) && !iequals(h.name, "Age") &&
            !is_listed(dropped, h.name)) {
            append_header(out, h.name, h.value);
        }
    }
}

std::size_t stored_lines_size(const ResponseHead& response) {
    std::size_t size = 9 + 3 + 1 + response.reason.size() + 2;
    for (const Header& h : response.headers) {
        size += h.name.size() + 2 + h.value.size() + 2;
    }
    return size;
}

std::string_view stored_status_line(std::string_view head) {
    if (!head.starts_with("HTTP/")) {
        return {};
    }
    const std::size_t end = head.find("\r\n");
    return end == std::string_view::npos ? head : head.substr(0, end + 2);
}

std::string_view write_status_line(std::span<char, kStatusLineMax> buf, int status) {
    constexpr std::string_view kVersion = "HTTP/1.1 ";
    char* p = std::copy(kVersion.begin(), kVersion.end(), buf.data());
    p = std::to_chars(p, p + 3, status).ptr; // 100..999
    *p++ = ' ';
    const std::string_view reason = reason_phrase(status);
    static_assert(kStatusLineMax >= 9 + 3 + 1 + 31 + 2, "the longest reason phrase is 31 bytes");
    p = std::copy(reason.begin(), reason.end(), p);
    *p++ = '\r';
    *p++ = '\n';
    return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

void write_response_end(std::string& out, const ClientResponseFraming& framing) {
    append_framing(out, framing.body);
    if (framing.close) {
        out.append("Connection: close\r\n");
    } else if (framing.http10_client) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

void write_client_response(std::string& out, const ResponseHead& response,
                           const ClientResponseFraming& framing) {
    write_response_lines(out, response);
    write_response_end(out, framing);
}

void write_text_response(std::string& out, int status, std::string_view content_type,
                         std::string_view body, bool close, bool head_only,
                         std::string_view date_line, std::uint32_t retry_after) {
    out.append("HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(status));
    out.push_back(' ');
    out.append(reason_phrase(status));
    out.append("\r\nContent-Type: ");
    out.append(content_type);
    out.append("\r\nContent-Length: ");
    append_number(out, body.size());
    out.append("\r\nCache-Control: no-store\r\nVia: 1.1 lacquer\r\n");
    out.append(date_line);
    if (retry_after != 0) {
        out.append("Retry-After: ");
        append_number(out, retry_after);
        out.append("\r\n");
    }
    if (close) {
        out.append("Connection: close\r\n");
    }
    out.append("\r\n");
    if (!head_only) {
        out.append(body);
    }
}

void write_synthetic_response(std::string& out, int status, bool close, bool head_only,
                              std::string_view date_line, std::uint32_t retry_after) {
    // Body: "<status> <reason>\n", built without allocating.
    const std::string_view reason = reason_phrase(status);
    char body[80];
    const auto r = std::to_chars(body, body + 4, status);
    std::size_t n = static_cast<std::size_t>(r.ptr - body);
    body[n++] = ' ';
    const std::size_t take = std::min(reason.size(), sizeof body - n - 1);
    std::memcpy(body + n, reason.data(), take);
    n += take;
    body[n++] = '\n';
    write_text_response(out, status, "text/plain; charset=utf-8", std::string_view(body, n), close,
                        head_only, date_line, retry_after);
}

void write_chunk_header(std::string& out, std::uint64_t size) {
    char buf[20];
    const auto r = std::to_chars(buf, buf + sizeof buf, size, 16);
    out.append(buf, r.ptr);
    out.append("\r\n");
}

} // namespace lacquer::http
