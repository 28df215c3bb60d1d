#pragma once
// Answering from a stored object: its head and body go to the client by reference (each
// borrowed write holds a reference on the object until libevent is done with the bytes); only
// the lines a stored head leaves out (the standard status line, the Date kept as a time, Via)
// and the per-request lines (Age, Cache-Status, framing, Connection) are written fresh.
// Conditional requests (If-None-Match, If-Modified-Since) are answered 304 from the object, range
// requests 206 with a part of its body (also by reference) or 416 (range_answer.h decides).

#include "lacquer/cache/stored_object.h"
#include "lacquer/http/byte_range.h"
#include "lacquer/http/head.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/client_side.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace lacquer::proxy {

struct ObjectDelivery {
    std::int64_t age = 0;      // seconds, for the Age header
    bool head_only = false;    // HEAD: the head with the body's Content-Length, no body
    bool not_modified = false; // 304 instead of the stored status
    http::RangePlan range;     // Single: 206 and that part; Unsatisfiable: 416; not with a 304
    bool close = false;        // Connection: close
    bool http10_client = false;
    CacheStatusField cache_status;
};

// RFC 9110 §13.2.2: If-None-Match decides when present (weak comparison), else
// If-Modified-Since against the stored Last-Modified. Only 200 objects are answered 304.
bool is_not_modified(const http::RequestHead& request, const cache::StoredObject& object);

// "Date: <IMF-fixdate>\r\n" for a stored object's date(), before its stored head. The last
// line made is kept per thread (objects stored in the same second share it): valid until the
// thread's next call.
std::string_view stored_date_line(std::uint32_t unix_seconds);
// The same for the worker's current time: the Date of an answer that has none of its own
// (RFC 9110 §6.6.1), formatted at most once per second per thread.
std::string_view date_line_now(std::int64_t unix_now);
// True when the stored or origin head `lines` (CRLF-separated) has a Date line.
bool has_date_line(std::string_view lines);

// The lines a hit writes fresh, after the stored head: Via, Age, Cache-Status, the framing,
// Connection and the blank line, into `scratch` (replaced); a 206 or 416 adds its Content-Range.
// Returns the status the answer carries (304, 206, 416, or the object's own).
int write_hit_lines(std::string& scratch, const cache::StoredObject& object,
                    const ObjectDelivery& how);

// Writes the whole answer; returns the body bytes queued. `scratch` holds the fresh lines.
std::uint64_t deliver_object(ClientSide& client, const cache::StoredObject& object,
                             const ObjectDelivery& how, std::string& scratch);

} // namespace lacquer::proxy
