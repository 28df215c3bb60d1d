#include "object_delivery.h"

#include "lacquer/http/cache_control.h"
#include "lacquer/http/headers.h"
#include "lacquer/http/serialize.h"

#include <algorithm>
#include <charconv>

namespace lacquer::proxy {

namespace {

void release_object(const void*, std::size_t, void* token) {
    static_cast<const cache::StoredObject*>(token)->unref();
}

// Queues bytes of `object` by reference; the reference taken here is dropped by libevent.
void write_object_bytes(ClientSide& client, const cache::StoredObject& object,
                        std::string_view bytes) {
    if (bytes.empty()) {
        return;
    }
    object.ref();
    client.write_borrowed(bytes.data(), bytes.size(), &release_object,
                          const_cast<cache::StoredObject*>(&object));
}

// Weak comparison (RFC 9110 §8.8.3.2): W/ prefixes are ignored.
std::string_view opaque_tag(std::string_view tag) {
    return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

bool etag_listed(std::string_view list, std::string_view etag) {
    bool found = false;
    http::for_each_token(list, [&](std::string_view tag) {
        found = found || tag == "*" || opaque_tag(tag) == opaque_tag(etag);
    });
    return found;
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_number_line(std::string& out, std::string_view name, std::uint64_t n) {
    out.append(name);
    out.append(": ");
    append_number(out, n);
    out.append("\r\n");
}

// RFC 9110 §14.4: "bytes first-last/length", or "bytes */length" for a 416.
void append_content_range(std::string& out, const http::RangePlan& range, std::uint64_t length) {
    out.append("Content-Range: bytes ");
    if (range.kind == http::RangeKind::Single) {
        append_number(out, range.first);
        out.push_back('-');
        append_number(out, range.last);
    } else {
        out.push_back('*');
    }
    out.push_back('/');
    append_number(out, length);
    out.append("\r\n");
}

int answer_status(const cache::StoredObject& object, const ObjectDelivery& how) {
    if (how.not_modified) {
        return 304;
    }
    switch (how.range.kind) {
    case http::RangeKind::Whole:
        break;
    case http::RangeKind::Single:
        return 206;
    case http::RangeKind::Unsatisfiable:
        return 416;
    }
    return object.status();
}

} // namespace

std::string_view stored_date_line(std::uint32_t unix_seconds) {
    struct Last {
        std::uint32_t unix_seconds = 0;
        std::size_t size = 0;
        char line[48] = {};
    };
    thread_local Last last;
    if (last.size == 0 || last.unix_seconds != unix_seconds) {
        constexpr std::string_view kName = "Date: ";
        char* p = std::copy(kName.begin(), kName.end(), last.line);
        p += http::format_http_date(unix_seconds, p);
        *p++ = '\r';
        *p++ = '\n';
        last.size = static_cast<std::size_t>(p - last.line);
        last.unix_seconds = unix_seconds;
    }
    return {last.line, last.size};
}

std::string_view date_line_now(std::int64_t unix_now) {
    return unix_now > 0 && unix_now <= 0xffffffff
               ? stored_date_line(static_cast<std::uint32_t>(unix_now))
               : std::string_view();
}

bool has_date_line(std::string_view lines) {
    for (std::size_t at = 0; at < lines.size();) {
        const std::size_t end = lines.find("\r\n", at);
        if (http::iequals(lines.substr(at, 5), "Date:")) {
            return true;
        }
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 2;
    }
    return false;
}

bool is_not_modified(const http::RequestHead& request, const cache::StoredObject& object) {
    if (object.status() != 200) {
        return false;
    }
    if (const http::Header* inm = request.headers.find("If-None-Match")) {
        return !object.etag().empty() && etag_listed(inm->value, object.etag());
    }
    const http::Header* ims = request.headers.find("If-Modified-Since");
    if (ims == nullptr || object.last_modified().empty()) {
        return false;
    }
    const auto since = http::parse_http_date(ims->value);
    const auto modified = http::parse_http_date(object.last_modified());
    return since && modified && *modified <= *since;
}

int write_hit_lines(std::string& scratch, const cache::StoredObject& object,
                    const ObjectDelivery& how) {
    scratch.assign(http::kOwnVia);
    // Each worker's now() is its own turn's: an object another worker stored after this turn
    // began is younger than zero here.
    append_number_line(scratch, "Age",
                       static_cast<std::uint64_t>(std::max<std::int64_t>(how.age, 0)));
    append_cache_status(scratch, how.cache_status);
    http::ClientResponseFraming framing;
    framing.close = how.close;
    framing.http10_client = how.http10_client;
    const int status = answer_status(object, how);
    if (status == 206 || status == 416) {
        append_content_range(scratch, how.range, object.body_size());
        framing.body = {http::Framing::Kind::Length, status == 206 ? how.range.size() : 0};
    } else if (status != 204 && status != 304) {
        framing.body = {http::Framing::Kind::Length, object.body_size()};
    }
    http::write_response_end(scratch, framing);
    return status;
}

std::uint64_t deliver_object(ClientSide& client, const cache::StoredObject& object,
                             const ObjectDelivery& how, std::string& scratch) {
    static constexpr std::string_view kNotModified = "HTTP/1.1 304 Not Modified\r\n";
    const std::string_view head = object.head();
    const std::string_view own_status_line = http::stored_status_line(head);
    char status_line[http::kStatusLineMax];
    const int status = write_hit_lines(scratch, object, how);
    const bool with_body = !how.head_only && status != 204 && status != 304 && status != 416;
    std::string_view body =
        with_body ? std::string_view(object.body(), object.body_size()) : std::string_view();
    if (with_body && status == 206) {
        body = body.substr(how.range.first, how.range.size()); // still the object's bytes
    }

    // Parts in wire order; `stored` ones live in the object and are queued by reference.
    struct Part {
        std::string_view bytes;
        bool stored;
    };
    // The status line: a 304's, the one stored with the head, or the standard one; then the
    // Date kept as a time, the stored lines, the per-request lines and the body.
    // A 416 describes no stored representation: none of its lines go with it.
    const std::string_view lines =
        status == 416 ? std::string_view() : head.substr(own_status_line.size());
    const bool own_line = status == object.status() && !own_status_line.empty();
    const Part parts[] = {
        {how.not_modified ? kNotModified
         : own_line       ? own_status_line
                          : http::write_status_line(status_line, status),
         own_line},
        {object.date() != 0 ? stored_date_line(object.date()) : std::string_view(), false},
        {lines, true},
        {scratch, false},
        {body, true},
    };
    // Usually the socket takes the whole answer at once: no buffer, no allocation.
    const std::string_view views[] = {parts[0].bytes, parts[1].bytes, parts[2].bytes,
                                      parts[3].bytes, parts[4].bytes};
    std::size_t sent = client.write_now(views);
    for (const Part& part : parts) {
        if (sent >= part.bytes.size()) {
            sent -= part.bytes.size();
            continue;
        }
        const std::string_view rest = part.bytes.substr(sent);
        sent = 0;
        if (part.stored) {
            write_object_bytes(client, object, rest);
        } else {
            client.write(rest);
        }
    }
    return body.size();
}

} // namespace lacquer::proxy
