#pragma once
// What ties one request's lines together across hops: its request id (X-Request-Id) and its
// W3C trace context (traceparent). Taken from the client when well formed, else made here
// (a request id always, a traceparent when log.traceparent is `start`), sent to the origin in
// place of the client's, and written to the access log. Never part of a cache key; a stored
// object never keeps an origin's X-Request-Id (route_table.cc drops it from stored heads).
// Making one allocates nothing: ids are a process prefix and a per-thread counter.

#include "lacquer/config/config.h"
#include "lacquer/http/head.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lacquer::proxy {

inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";
inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
// A client's X-Request-Id is kept when it is 1..kMaxRequestId of [A-Za-z0-9._:+/=@-] (UUIDs,
// hex, base64, ULIDs and the like); anything else is replaced, so a log line or an origin
// never sees a forged or oversized id.
inline constexpr std::size_t kMaxRequestId = 128;
inline constexpr std::size_t kMadeRequestId = 32; // lowercase hex
inline constexpr std::size_t kTraceparentLength = 55;

bool valid_request_id(std::string_view id);
// W3C Trace Context §3.2: version 00 is exactly "00-<32 hex>-<16 hex>-<2 hex>", lowercase,
// neither id all zeros. A later version (not ff) is accepted when its first 55 characters
// have that shape and anything after starts with '-'.
bool valid_traceparent(std::string_view value);

// A new request id: 16 hex of a random prefix drawn once per process, 4 of the calling
// thread's number and 12 of its counter: unique in the process, and across processes with
// the prefix's odds. Fast: no lock, no allocation.
std::string_view make_request_id(std::array<char, kMadeRequestId>& out);
// A new trace: "00-<trace id>-<parent id>-01", the ids drawn from the same counter through
// a mixing function (random-looking, unique in the process, never zero).
std::string_view start_traceparent(std::array<char, kTraceparentLength>& out);

// One request's id and trace context, reset at the start of each request.
class RequestTrace {
public:
    // Reads the client's headers under the generation's log config.
    void begin(const http::HeaderList& headers, const config::LogConfig& log);
    std::string_view request_id() const { return request_id_; }
    std::string_view traceparent() const { return traceparent_; }
    // The headers the origin receives in place of the client's: X-Request-Id, traceparent and
    // (passed with it) tracestate, each when there is one.
    std::span<const http::Header> headers() const { return {headers_.data(), header_count_}; }

    // The origin server that answered (or was tried last), copied: the request may outlive
    // the fetch that knew it. Truncated to what fits.
    void set_upstream(std::string_view server);
    std::string_view upstream() const { return {upstream_.data(), upstream_length_}; }
    void clear_upstream() { upstream_length_ = 0; }

private:
    std::array<char, kMadeRequestId> made_id_{};
    std::array<char, kTraceparentLength> made_trace_{};
    std::string_view request_id_;
    std::string_view traceparent_;
    std::array<http::Header, 3> headers_{};
    std::size_t header_count_ = 0;
    std::array<char, 96> upstream_{};
    std::size_t upstream_length_ = 0;
};

} // namespace lacquer::proxy
