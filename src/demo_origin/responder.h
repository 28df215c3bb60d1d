#pragma once
// Decides and formats the demo origin's answer to one parsed request. No I/O: the connection
// hands in what llhttp parsed and writes out the bytes (after `delay_ms`, if asked). One Responder
// per worker thread; it reuses its buffers, so a steady stream of requests allocates little.
//
// Behaviour (query parameters are read by the origin but stay ordinary parameters):
//   GET/HEAD any path  JSON {"path","query","locale","currency","region","served"[,"pad"]}
//   cc=V               Cache-Control: V, url-decoded (default max-age=60; `cc=` sends none)
//   status=NNN         200..599 (default 200)
//   delay_ms=N         answer after N ms (at most 60000)
//   size=N             body of exactly N bytes (a "pad" field, or JSON cut short if N is tiny)
//   chunked=1          Transfer-Encoding: chunked, in several chunks (HTTP/1.1 clients only)
//   etag=1             ETag from path+query+served; a matching If-None-Match gets 304 and does
//                      not bump `served` (the representation did not change)
//   close=1            Connection: close, then close
//   POST/PUT/PATCH/DELETE  JSON with the method, path, body length and FNV-1a 64 of the body
//   GET /__stats, POST /__reset  counters (not counted themselves)

#include "demo_origin/stats.h"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace lacquer::demo_origin {

struct ParsedRequest {
    std::string_view method;
    std::string_view target;
    int http_minor = 1;
    bool keep_alive = true;
    std::string_view locale;
    std::string_view currency;
    std::string_view region;
    std::string_view if_none_match;
    std::uint64_t body_length = 0;
    std::uint64_t body_fnv = 0;
};

struct Reply {
    std::string bytes; // the whole response: head and body
    std::uint32_t delay_ms = 0;
    bool close = false; // close the connection once these bytes are written
};

class Responder {
public:
    static constexpr std::uint32_t kMaxDelayMs = 60'000;
    static constexpr std::uint64_t kMaxSize = 256ULL << 20;

    explicit Responder(Stats& stats) : stats_(stats) {}

    // Fills `reply` (its buffer is cleared first and its capacity kept).
    void respond(const ParsedRequest& request, Reply& reply);

    // 400 with Connection: close, for requests llhttp refused.
    void bad_request(std::string_view why, Reply& reply);

private:
    struct Controls {
        std::string_view cache_control;
        int status = 200;
        std::uint32_t delay_ms = 0;
        bool has_size = false;
        std::uint64_t size = 0;
        bool chunked = false;
        bool etag = false;
        bool close = false;
    };

    bool parse_controls(std::string_view query, bool safe_method, Controls& out,
                        std::string_view& error);
    void answer_resource(const ParsedRequest& request, std::string_view path,
                         std::string_view query, const Controls& controls, Reply& reply);
    void answer_control(const ParsedRequest& request, std::string_view path, Reply& reply);
    void answer_simple(const ParsedRequest& request, int status, std::string_view extra_header,
                       std::string_view body, bool close, Reply& reply);
    void write_head(int status, const ParsedRequest& request, bool close, Reply& reply);
    void write_body(const ParsedRequest& request, std::string_view body, bool chunked, Reply& reply,
                    bool bodyless_status = false);
    void pad_body(std::uint64_t size);
    std::string_view date();

    Stats& stats_;
    std::string body_;          // scratch for the body being built
    std::string cache_control_; // decoded cc= value
    std::time_t date_second_ = 0;
    char date_[40] = {};
    std::size_t date_length_ = 0;
};

} // namespace lacquer::demo_origin
