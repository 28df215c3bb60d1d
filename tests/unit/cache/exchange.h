#pragma once
// A request and its response, parsed for the freshness tests; the parsers own the bytes the
// heads point into.
#include "lacquer/cache/freshness.h"
#include "lacquer/http/head_parser.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::cache::test {

inline constexpr std::int64_t kNow = 1'700'000'000; // Tue, 14 Nov 2023 22:13:20 GMT

struct Exchange {
    http::HeadParser req{http::HeadKind::Request, {}};
    http::HeadParser resp{http::HeadKind::Response, {}};
    std::string req_bytes, resp_bytes;

    Exchange(const std::string& request_headers, const std::string& response_headers,
             int status = 200, const std::string& method = "GET") {
        req_bytes = method + " /x HTTP/1.1\r\nHost: h\r\n" + request_headers + "\r\n";
        resp_bytes = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n" +
                     response_headers + "\r\n";
        EXPECT_EQ(req.feed(req_bytes.data(), req_bytes.size()).status,
                  http::HeadParser::Status::Complete);
        EXPECT_EQ(resp.feed(resp_bytes.data(), resp_bytes.size()).status,
                  http::HeadParser::Status::Complete);
    }
    // The response came at `now_unix`, `delay` after the request went out.
    StoreDecision decide(const FreshnessPolicy& policy = {}, std::int64_t now_unix = kNow,
                         core::Millis delay = core::Millis(0)) const {
        return decide_storage(req.request(), req.request().method, resp.response(), policy,
                              now_unix, delay);
    }
};

} // namespace lacquer::cache::test
