// libFuzzer target: a client's X-Request-Id and traceparent -> proxy::RequestTrace (issue 20).
// Beyond "no crash" (the values are views of exactly the input's bytes, so ASan sees any
// overrun):
// - the request id is the client's exactly when valid_request_id() accepts it, else a made one,
//   and either way it is valid: nothing unsafe reaches an origin or a log line;
// - the traceparent is the client's exactly when valid_traceparent() accepts it; otherwise none
//   (pass) or a started one (start), which is valid and version 00;
// - what the origin receives is exactly those values.
#include "lacquer/proxy/request_trace.h"

#include "lacquer/core/assert.h"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lacquer;
    if (size == 0) {
        return 0;
    }
    config::LogConfig log;
    log.request_id = (data[0] & 1) != 0;
    log.traceparent =
        (data[0] & 2) != 0 ? config::TraceparentMode::Start : config::TraceparentMode::Pass;
    // The rest: "id\ntraceparent" (one split), each as a client's header value.
    const std::vector<char> copy(data + 1, data + size); // exactly the bytes: ASan bounds
    const std::string_view rest(copy.data(), copy.size());
    const std::size_t cut = rest.find('\n');
    const std::string_view id = rest.substr(0, cut);
    const std::string_view trace =
        cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    http::HeaderList headers;
    headers.items[headers.count++] = http::Header{"X-Request-Id", id};
    headers.items[headers.count++] = http::Header{"traceparent", trace};

    proxy::RequestTrace t;
    t.begin(headers, log);
    if (log.request_id) {
        LACQUER_ASSERT(proxy::valid_request_id(t.request_id()));
        LACQUER_ASSERT((t.request_id() == id) == proxy::valid_request_id(id));
    } else {
        LACQUER_ASSERT(t.request_id().empty());
    }
    const bool kept = proxy::valid_traceparent(trace);
    if (kept) {
        LACQUER_ASSERT(t.traceparent() == trace && trace.size() >= proxy::kTraceparentLength);
    } else if (log.traceparent == config::TraceparentMode::Start) {
        LACQUER_ASSERT(proxy::valid_traceparent(t.traceparent()));
        LACQUER_ASSERT(t.traceparent().substr(0, 3) == "00-");
    } else {
        LACQUER_ASSERT(t.traceparent().empty());
    }
    std::size_t sent = 0;
    for (const http::Header& h : t.headers()) {
        if (h.name == proxy::kRequestIdHeader) {
            LACQUER_ASSERT(h.value == t.request_id());
            ++sent;
        } else if (h.name == proxy::kTraceparentHeader) {
            LACQUER_ASSERT(h.value == t.traceparent());
            ++sent;
        }
    }
    LACQUER_ASSERT(sent == (log.request_id ? 1U : 0U) + (t.traceparent().empty() ? 0U : 1U));
    return 0;
}
