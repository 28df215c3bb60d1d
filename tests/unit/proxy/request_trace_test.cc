// Request ids and W3C trace context: what is kept from a client, what is replaced, and what a
// new one looks like (request_trace.h).
#include "lacquer/proxy/request_trace.h"

#include <gtest/gtest.h>
#include <set>
#include <string>
#include <thread>

namespace lacquer::proxy {
namespace {

constexpr std::string_view kValidTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

http::HeaderList headers_of(std::initializer_list<http::Header> list) {
    http::HeaderList headers;
    for (const http::Header& h : list) {
        headers.items[headers.count++] = h;
    }
    return headers;
}

bool is_lower_hex(std::string_view s) {
    return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(RequestId, KeepsSafeIdsOfBoundedLength) {
    EXPECT_TRUE(valid_request_id("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
    EXPECT_TRUE(valid_request_id("01HF3Z5J8K9QX2V7N4M6B0C1D2"));
    EXPECT_TRUE(valid_request_id("abc+/=_.:@-XYZ"));
    EXPECT_TRUE(valid_request_id(std::string(kMaxRequestId, 'a')));
    EXPECT_FALSE(valid_request_id(""));
    EXPECT_FALSE(valid_request_id(std::string(kMaxRequestId + 1, 'a')));
    EXPECT_FALSE(valid_request_id("has space"));
    EXPECT_FALSE(valid_request_id("quote\"d"));
    EXPECT_FALSE(valid_request_id("new\nline"));
    EXPECT_FALSE(valid_request_id("M\xc3\xbcller"));
    EXPECT_FALSE(valid_request_id("semi;colon"));
}

TEST(RequestId, MadeIdsAreHexUniqueAcrossThreadsAndShareTheProcessPrefix) {
    std::set<std::string> seen;
    std::array<char, kMadeRequestId> buf{};
    for (int i = 0; i < 1000; ++i) {
        const std::string id(make_request_id(buf));
        ASSERT_EQ(id.size(), kMadeRequestId);
        ASSERT_TRUE(is_lower_hex(id)) << id;
        ASSERT_TRUE(seen.insert(id).second) << "repeated: " << id;
    }
    std::string other;
    std::thread([&other] {
        std::array<char, kMadeRequestId> b{};
        other = std::string(make_request_id(b));
    }).join();
    EXPECT_EQ(seen.count(other), 0u);
    EXPECT_EQ(other.substr(0, 16), seen.begin()->substr(0, 16)); // one prefix per process
    EXPECT_NE(other.substr(16, 4), seen.begin()->substr(16, 4)); // another thread's number
}

TEST(Traceparent, AcceptsVersion00AndLaterVersionsOfTheSameShape) {
    EXPECT_TRUE(valid_traceparent(kValidTrace));
    EXPECT_TRUE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    EXPECT_TRUE(valid_traceparent(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-says"));
    EXPECT_TRUE(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(Traceparent, RefusesWhatTheSpecificationRefuses) {
    // Version ff, upper case, zero ids, wrong lengths, a 00 with more after it, wrong dashes.
    EXPECT_FALSE(valid_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    EXPECT_FALSE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    EXPECT_FALSE(valid_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
    EXPECT_FALSE(valid_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    EXPECT_FALSE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
    EXPECT_FALSE(valid_traceparent(""));
}

TEST(Traceparent, StartedTracesAreValidAndDistinct) {
    std::array<char, kTraceparentLength> buf{};
    const std::string a(start_traceparent(buf));
    const std::string b(start_traceparent(buf));
    EXPECT_TRUE(valid_traceparent(a)) << a;
    EXPECT_TRUE(valid_traceparent(b)) << b;
    EXPECT_NE(a.substr(3, 32), b.substr(3, 32));
    EXPECT_NE(a.substr(36, 16), b.substr(36, 16));
    EXPECT_EQ(a.substr(53), "01");
}

TEST(RequestTrace, KeepsAValidClientIdAndReplacesAnInvalidOrRepeatedOne) {
    config::LogConfig log;
    RequestTrace trace;
    const http::HeaderList good = headers_of({{"x-request-id", "client-42"}});
    trace.begin(good, log);
    EXPECT_EQ(trace.request_id(), "client-42");
    ASSERT_EQ(trace.headers().size(), 1u);
    EXPECT_EQ(trace.headers()[0].name, kRequestIdHeader);
    EXPECT_EQ(trace.headers()[0].value, "client-42");

    const http::HeaderList bad = headers_of({{"X-Request-Id", "bad id"}});
    trace.begin(bad, log);
    EXPECT_EQ(trace.request_id().size(), kMadeRequestId);
    EXPECT_TRUE(is_lower_hex(trace.request_id()));

    const http::HeaderList two = headers_of({{"X-Request-Id", "a"}, {"X-Request-Id", "b"}});
    trace.begin(two, log);
    EXPECT_EQ(trace.request_id().size(), kMadeRequestId);

    log.request_id = false;
    trace.begin(good, log);
    EXPECT_EQ(trace.request_id(), "");
    EXPECT_TRUE(trace.headers().empty()); // the client's header goes on under the usual rules
}

TEST(RequestTrace, PassesAValidTraceparentWithItsTracestateAndStartsOneOnlyWhenAsked) {
    config::LogConfig log;
    log.request_id = false;
    RequestTrace trace;
    const http::HeaderList sent =
        headers_of({{"traceparent", kValidTrace}, {"tracestate", "congo=t61rcWkgMzE"}});
    trace.begin(sent, log);
    EXPECT_EQ(trace.traceparent(), kValidTrace);
    ASSERT_EQ(trace.headers().size(), 2u);
    EXPECT_EQ(trace.headers()[1].value, "congo=t61rcWkgMzE");

    const http::HeaderList none = headers_of({});
    trace.begin(none, log);
    EXPECT_EQ(trace.traceparent(), ""); // pass: nothing to pass
    log.traceparent = config::TraceparentMode::Start;
    trace.begin(none, log);
    EXPECT_TRUE(valid_traceparent(trace.traceparent())) << trace.traceparent();
    ASSERT_EQ(trace.headers().size(), 1u);
    EXPECT_EQ(trace.headers()[0].name, kTraceparentHeader);

    // A malformed one is replaced by a new trace (W3C §4.3), not passed on.
    const http::HeaderList broken = headers_of({{"traceparent", "00-zz-yy-01"}});
    trace.begin(broken, log);
    EXPECT_TRUE(valid_traceparent(trace.traceparent()));
    EXPECT_NE(trace.traceparent(), "00-zz-yy-01");
}

TEST(RequestTrace, UpstreamIsCopiedAndBounded) {
    RequestTrace trace;
    {
        const std::string server = "10.1.2.3:9000";
        trace.set_upstream(server);
    }
    EXPECT_EQ(trace.upstream(), "10.1.2.3:9000");
    trace.set_upstream(std::string(500, 'h'));
    EXPECT_EQ(trace.upstream().size(), 96u);
    trace.set_upstream("-");
    EXPECT_EQ(trace.upstream(), "");
}

} // namespace
} // namespace lacquer::proxy
