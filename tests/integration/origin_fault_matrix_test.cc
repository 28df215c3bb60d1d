// Origin faults on a cacheable route, each met by several clients at once (so a coalesced fetch
// and its waiters meet it too). For every fault:
// - each client gets a clean error status or a response that is visibly unfinished (incomplete,
//   connection closed), never a complete-looking one with a wrong body, and none waits past its
//   bound;
// - nothing partial is stored: once the origin answers well, the next request is a miss that
//   reaches the origin and gets the whole good body;
// - the origin connection that carried the fault is never used again.
// An origin that stalls holds its connection open until lacquerd drops it (wait_for_close), so
// each fault lasts as long as lacquerd takes to give up, never a fixed sleep.
#include "cache_test_support.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"

#include <atomic>
#include <functional>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;

constexpr int kClients = 5;
constexpr std::string_view kCacheable = "Cache-Control: max-age=600\r\n";

enum class Expect {
    Error,       // a 502 or 504 for every client
    Unfinished,  // the head may arrive, the body never completes, the connection closes
    WholePrefix, // a complete answer with exactly the declared body (the excess is dropped)
};

struct Fault {
    const char* name;
    std::function<void(OriginExchange&)> act;
    Expect expect;
};

void raw(OriginExchange& x, const std::string& bytes) {
    x.send_raw(bytes);
}

std::string head_with(std::string_view framing) {
    return "HTTP/1.1 200 OK\r\n" + std::string(kCacheable) + std::string(framing) + "\r\n";
}

const Fault kFaults[] = {
    {"ClosesMidBody",
     [](OriginExchange& x) {
         raw(x, head_with("Content-Length: 100\r\n") + "only ten b");
         x.close();
     },
     Expect::Unfinished},
    {"ShortContentLengthThenStalls",
     [](OriginExchange& x) {
         raw(x, head_with("Content-Length: 100\r\n") + "only ten b");
         (void)x.wait_for_close(3s); // silent, open, until lacquerd gives up (between_bytes)
     },
     Expect::Unfinished},
    {"LongerBodyThanContentLength",
     [](OriginExchange& x) {
         raw(x, head_with("Content-Length: 5\r\n") +
                    "helloHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
         (void)x.wait_for_close(1s);
     },
     Expect::WholePrefix},
    {"ResetsMidBody",
     [](OriginExchange& x) {
         raw(x, head_with("Content-Length: 100\r\n") + "only ten b");
         x.reset();
     },
     Expect::Unfinished},
    {"BadChunkMidBody",
     [](OriginExchange& x) {
         raw(x,
             head_with("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n");
         (void)x.wait_for_close(1s);
     },
     Expect::Unfinished},
    {"ChunkedEndsWithoutLastChunk",
     [](OriginExchange& x) {
         raw(x, head_with("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n");
         x.close();
     },
     Expect::Unfinished},
    {"GarbageHead",
     [](OriginExchange& x) {
         raw(x, "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok");
         (void)x.wait_for_close(1s);
     },
     Expect::Error},
    {"ResetBeforeHead", [](OriginExchange& x) { x.reset(); }, Expect::Error},
    {"HalfAHeadThenClose",
     [](OriginExchange& x) {
         raw(x, "HTTP/1.1 200 OK\r\nContent-Le");
         x.close();
     },
     Expect::Error},
    {"StallsBeforeHead", [](OriginExchange& x) { (void)x.wait_for_close(3s); }, Expect::Error},
    {"ContentLengthAndChunked",
     [](OriginExchange& x) {
         raw(x, head_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") +
                    "5\r\nhello\r\n0\r\n\r\n");
         (void)x.wait_for_close(1s);
     },
     Expect::Error},
};

class OriginFault : public ::testing::TestWithParam<Fault> {};

TEST_P(OriginFault, ClientsGetACleanEndNothingIsStoredAndTheConnectionIsDropped) {
    const Fault& fault = GetParam();
    ScriptedOrigin origin;
    std::atomic<bool> faulty{true};
    origin.on_get("/c/item", [&](OriginExchange& x) {
        if (faulty) {
            fault.act(x);
            return;
        }
        x.respond(200, {{"Cache-Control", "max-age=600"}}, "the whole good body");
    });
    origin.on_get("/c/other", [](OriginExchange& x) { x.respond(200, {}, "other"); });
    LacquerProcess proxy(caching_config(origin, "routes:\n"
                                                "  - name: cached\n"
                                                "    match: { path_prefix: /c/ }\n"
                                                "    cache: { key_params: all, ttl: 60s }\n")
                             .workers(1)
                             .origin_setting("first_byte_timeout: 500ms")
                             .origin_setting("between_bytes_timeout: 500ms"));
    ASSERT_TRUE(proxy.started());

    std::vector<Response> answers(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            HttpClient c;
            if (c.connect(proxy.port())) {
                answers[i] = c.get("/c/item", kApiHost, 8s);
                if (!answers[i].complete) {
                    answers[i].closed = answers[i].closed || c.is_closed_by_peer(2s);
                }
            }
        });
    }
    for (std::thread& t : clients) {
        t.join();
    }
    for (const Response& r : answers) {
        EXPECT_FALSE(r.timed_out) << r.summary();
        const bool error = r.complete && (r.status == 502 || r.status == 504);
        const bool cut = !r.complete && r.closed;
        switch (fault.expect) {
        case Expect::Error:
            EXPECT_TRUE(error) << r.summary();
            break;
        case Expect::Unfinished:
            EXPECT_TRUE(cut || error) << r.summary();
            EXPECT_FALSE(r.complete && r.status == 200) << r.summary();
            break;
        case Expect::WholePrefix:
            EXPECT_TRUE(r.complete) << r.summary();
            EXPECT_EQ(r.body, "hello");
            break;
        }
    }
    const std::vector<ReceivedRequest> faulted = origin.requests();
    ASSERT_FALSE(faulted.empty());
    std::set<std::uint64_t> bad_connections;
    for (const ReceivedRequest& r : faulted) {
        bad_connections.insert(r.connection);
    }

    // The origin mends. Whatever was half-received was not kept.
    faulty = false;
    origin.clear_records();
    const Response next = proxy.get("/c/item", kApiHost, 5s);
    if (fault.expect == Expect::WholePrefix) {
        EXPECT_EQ(next.body, "hello") << next.summary(); // the declared body is a whole object
    } else {
        EXPECT_EQ(next.body, "the whole good body") << next.summary();
        EXPECT_EQ(next.header("Cache-Status"), kStored);
        EXPECT_EQ(origin.count("/c/item"), 1u);
    }
    // A new exchange never rides a connection that carried a fault.
    const Response other = proxy.get("/c/other", kApiHost, 5s);
    EXPECT_EQ(other.body, "other") << other.summary();
    for (const ReceivedRequest& r : origin.requests()) {
        EXPECT_EQ(bad_connections.count(r.connection), 0u) << r.target << " reused a connection";
    }
}

INSTANTIATE_TEST_SUITE_P(Faults, OriginFault, ::testing::ValuesIn(kFaults),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace
} // namespace lacquer::test
