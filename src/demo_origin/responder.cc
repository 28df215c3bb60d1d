// Response decisions and formatting for the demo origin. Everything is appended to reused
// strings with to_chars; nothing here touches a socket.
#include "demo_origin/responder.h"

#include "demo_origin/json.h"

#include <algorithm>
#include <charconv>

namespace lacquer::demo_origin {

namespace {

constexpr std::string_view kDefaultCacheControl = "max-age=60";
constexpr std::string_view kUnsafeCacheControl = "no-store";
constexpr std::size_t kMaxChunk = 16 * 1024;

struct ReasonPhrase {
    int status;
    std::string_view text;
};
constexpr ReasonPhrase kReasonPhrases[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {410, "Gone"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

std::string_view reason_phrase(int status) {
    for (const ReasonPhrase& phrase : kReasonPhrases) {
        if (phrase.status == status) {
            return phrase.text;
        }
    }
    return "Status";
}

bool has_no_body(int status) {
    return status == 204 || status == 304;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Form-style decoding ('+' is a space); false on a broken %XX.
bool url_decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out += ' ';
        } else if (in[i] != '%') {
            out += in[i];
        } else {
            if (i + 2 >= in.size()) {
                return false;
            }
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
    }
    return true;
}

template <typename T> bool parse_number(std::string_view text, T& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool is_flag_on(std::string_view value) {
    return value == "1" || value == "true" || value == "yes";
}

std::uint64_t etag_hash(std::string_view target, std::uint64_t served) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, served);
    std::uint64_t hash = fnv1a64(kFnvOffset, target);
    hash = fnv1a64(hash, "#");
    return fnv1a64(hash, std::string_view(digits, static_cast<std::size_t>(result.ptr - digits)));
}

void append_etag(std::string& out, std::string_view target, std::uint64_t served) {
    out += '"';
    append_hex64(out, etag_hash(target, served));
    out += '"';
}

// RFC 9110 §13.1.2: "*" or a list of entity tags, compared weakly.
bool if_none_match_hits(std::string_view header, std::string_view target, std::uint64_t served) {
    if (served == 0 || header.empty()) {
        return false; // nothing has been served yet, so no tag can match
    }
    std::string expected;
    append_etag(expected, target, served);
    while (!header.empty()) {
        const std::size_t comma = header.find(',');
        std::string_view tag = header.substr(0, comma);
        header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
            tag.remove_prefix(1);
        }
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
            tag.remove_suffix(1);
        }
        if (tag.starts_with("W/")) {
            tag.remove_prefix(2);
        }
        if (tag == "*" || tag == expected) {
            return true;
        }
    }
    return false;
}

} // namespace

std::string_view Responder::date() {
    const std::time_t now = std::time(nullptr);
    if (now != date_second_) {
        std::tm parts{};
        ::gmtime_r(&now, &parts);
        date_length_ = std::strftime(date_, sizeof date_, "%a, %d %b %Y %H:%M:%S GMT", &parts);
        date_second_ = now;
    }
    return {date_, date_length_};
}

bool Responder::parse_controls(std::string_view query, bool safe_method, Controls& out,
                               std::string_view& error) {
    out.cache_control = safe_method ? kDefaultCacheControl : kUnsafeCacheControl;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (key == "cc") {
            if (!url_decode(value, cache_control_)) {
                error = "cc: bad percent-encoding";
                return false;
            }
            out.cache_control = cache_control_;
        } else if (key == "status") {
            if (!parse_number(value, out.status) || out.status < 200 || out.status > 599) {
                error = "status: expected 200..599";
                return false;
            }
        } else if (key == "delay_ms") {
            if (!parse_number(value, out.delay_ms) || out.delay_ms > kMaxDelayMs) {
                error = "delay_ms: expected 0..60000";
                return false;
            }
        } else if (key == "size") {
            if (!parse_number(value, out.size) || out.size > kMaxSize) {
                error = "size: expected 0..268435456";
                return false;
            }
            out.has_size = true;
        } else if (key == "chunked") {
            out.chunked = is_flag_on(value);
        } else if (key == "etag") {
            out.etag = is_flag_on(value);
        } else if (key == "close") {
            out.close = is_flag_on(value);
        }
    }
    return true;
}

void Responder::respond(const ParsedRequest& request, Reply& reply) {
    reply.bytes.clear();
    reply.delay_ms = 0;
    reply.close = !request.keep_alive;
    const std::size_t question = request.target.find('?');
    const std::string_view path = request.target.substr(0, question);
    const std::string_view query = question == std::string_view::npos
                                       ? std::string_view()
                                       : request.target.substr(question + 1);

    if (path.starts_with("/__")) {
        answer_control(request, path, reply);
        return;
    }
    const bool safe = request.method == "GET" || request.method == "HEAD";
    const bool echo = request.method == "POST" || request.method == "PUT" ||
                      request.method == "PATCH" || request.method == "DELETE";
    if (!safe && !echo) {
        answer_simple(request, 405, "Allow: GET, HEAD, POST, PUT, PATCH, DELETE\r\n",
                      "method not allowed\n", !request.keep_alive, reply);
        return;
    }
    Controls controls;
    std::string_view error;
    if (!parse_controls(query, safe, controls, error)) {
        body_.assign("bad control parameter: ").append(error).append("\n");
        answer_simple(request, 400, {}, body_, !request.keep_alive, reply);
        return;
    }
    answer_resource(request, path, query, controls, reply);
}

void Responder::answer_resource(const ParsedRequest& request, std::string_view path,
                                std::string_view query, const Controls& controls, Reply& reply) {
    const bool safe = request.method == "GET" || request.method == "HEAD";
    const bool use_etag = controls.etag && safe;
    const Recorded counts = stats_.record(request.target, [&](std::uint64_t served) {
        return use_etag && if_none_match_hits(request.if_none_match, request.target, served);
    });
    const bool not_modified = counts.not_modified;
    const int status = not_modified ? 304 : controls.status;
    const bool close = controls.close || !request.keep_alive;
    // Chunked framing does not exist in HTTP/1.0.
    const bool chunked = controls.chunked && request.http_minor >= 1 && !has_no_body(status);

    body_.clear();
    if (!has_no_body(status)) {
        if (safe) {
            body_ += "{\"path\":";
            append_json_string(body_, path);
            body_ += ",\"query\":";
            append_json_string(body_, query);
            body_ += ",\"locale\":";
            append_json_string(body_, request.locale);
            body_ += ",\"currency\":";
            append_json_string(body_, request.currency);
            body_ += ",\"region\":";
            append_json_string(body_, request.region);
        } else {
            body_ += "{\"method\":";
            append_json_string(body_, request.method);
            body_ += ",\"path\":";
            append_json_string(body_, path);
            body_ += ",\"query\":";
            append_json_string(body_, query);
            body_ += ",\"body_length\":";
            append_number(body_, request.body_length);
            body_ += ",\"body_fnv1a64\":\"";
            append_hex64(body_, request.body_fnv);
            body_ += '"';
        }
        body_ += ",\"served\":";
        append_number(body_, counts.served);
        if (controls.has_size) {
            pad_body(controls.size);
        } else {
            body_ += '}';
        }
    }

    write_head(status, request, close, reply);
    if (!controls.cache_control.empty()) {
        reply.bytes.append("Content-Type: application/json\r\nCache-Control: ")
            .append(controls.cache_control)
            .append("\r\n");
    } else {
        reply.bytes.append("Content-Type: application/json\r\n");
    }
    if (use_etag) {
        reply.bytes += "ETag: ";
        append_etag(reply.bytes, request.target, counts.served);
        reply.bytes += "\r\n";
    }
    write_body(request, body_, chunked, reply, has_no_body(status));
    reply.delay_ms = controls.delay_ms;
    reply.close = close;
}

// body_ holds the JSON without its closing brace; make the whole body exactly `size` bytes.
void Responder::pad_body(std::uint64_t size) {
    constexpr std::string_view kPadOpen = ",\"pad\":\"";
    const std::uint64_t framing = kPadOpen.size() + 2; // the pad's quotes and the brace
    if (size >= body_.size() + framing) {
        body_ += kPadOpen;
        body_.append(static_cast<std::size_t>(size - body_.size() - 2), 'x');
        body_ += "\"}";
    } else if (size >= body_.size() + 1) {
        // No room for a pad field: JSON whitespace before the brace still keeps it valid.
        body_.append(static_cast<std::size_t>(size - body_.size() - 1), ' ');
        body_ += '}';
    } else {
        body_.resize(static_cast<std::size_t>(size)); // too small for JSON; the size wins
    }
}

void Responder::answer_control(const ParsedRequest& request, std::string_view path, Reply& reply) {
    const bool close = !request.keep_alive;
    if (path == "/__stats" && (request.method == "GET" || request.method == "HEAD")) {
        body_ = stats_.to_json();
        write_head(200, request, close, reply);
        reply.bytes += "Content-Type: application/json\r\nCache-Control: no-store\r\n";
        write_body(request, body_, false, reply);
    } else if (path == "/__reset" && request.method == "POST") {
        stats_.reset();
        answer_simple(request, 200, {}, "{\"reset\":true}", close, reply);
    } else if (path == "/__stats" || path == "/__reset") {
        answer_simple(request, 405, {}, "method not allowed\n", close, reply);
    } else {
        answer_simple(request, 404, {}, "no such control path\n", close, reply);
    }
}

void Responder::answer_simple(const ParsedRequest& request, int status,
                              std::string_view extra_header, std::string_view body, bool close,
                              Reply& reply) {
    write_head(status, request, close, reply);
    reply.bytes += "Content-Type: text/plain\r\nCache-Control: no-store\r\n";
    reply.bytes += extra_header;
    write_body(request, body, false, reply);
    reply.close = close;
}

void Responder::bad_request(std::string_view why, Reply& reply) {
    reply.bytes.clear();
    reply.delay_ms = 0;
    reply.close = true;
    reply.bytes.append("HTTP/1.1 400 Bad Request\r\nDate: ").append(date());
    reply.bytes += "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ";
    append_number(reply.bytes, why.size() + 14); // "bad request: " and "\n"
    reply.bytes.append("\r\n\r\nbad request: ").append(why).append("\n");
}

void Responder::write_head(int status, const ParsedRequest& request, bool close, Reply& reply) {
    reply.bytes.clear();
    reply.bytes += "HTTP/1.1 ";
    append_number(reply.bytes, static_cast<std::uint64_t>(status));
    reply.bytes += ' ';
    reply.bytes += reason_phrase(status);
    reply.bytes += "\r\nDate: ";
    reply.bytes += date();
    reply.bytes += "\r\n";
    if (close) {
        reply.bytes += "Connection: close\r\n";
    } else if (request.http_minor == 0) {
        reply.bytes += "Connection: keep-alive\r\n"; // an HTTP/1.0 client asked for it
    }
}

// Ends the head with the framing header, then the body (left out for HEAD).
void Responder::write_body(const ParsedRequest& request, std::string_view body, bool chunked,
                           Reply& reply, bool bodyless_status) {
    if (bodyless_status) {
        reply.bytes += "\r\n"; // 204 and 304 carry neither a body nor a length of their own
        return;
    }
    const bool head_only = request.method == "HEAD";
    if (chunked) {
        reply.bytes += "Transfer-Encoding: chunked\r\n\r\n";
        if (head_only) {
            return;
        }
        const std::size_t piece = std::clamp<std::size_t>((body.size() + 3) / 4, 1, kMaxChunk);
        char size_line[24];
        while (!body.empty()) {
            const std::size_t n = std::min(piece, body.size());
            auto* end = std::to_chars(size_line, size_line + sizeof size_line, n, 16).ptr;
            reply.bytes.append(size_line, end).append("\r\n").append(body.substr(0, n));
            reply.bytes += "\r\n";
            body.remove_prefix(n);
        }
        reply.bytes += "0\r\n\r\n";
        return;
    }
    reply.bytes += "Content-Length: ";
    append_number(reply.bytes, body.size());
    reply.bytes += "\r\n\r\n";
    if (!head_only) {
        reply.bytes += body;
    }
}

} // namespace lacquer::demo_origin
