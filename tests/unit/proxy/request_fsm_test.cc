// proxy::RequestFsm driven through a fake ClientSide: no client socket, so each test sees the
// exact bytes a request answers with, how it ends, and the steps it took (issue 16). The one
// origin here is a closed loopback port, so a fetch fails for real on a real event loop.
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/config/load.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/request_body.h"
#include "lacquer/proxy/request_fsm.h"
#include "lacquer/proxy/route_table.h"

#include <arpa/inet.h>
#include <atomic>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace lacquer::proxy {
namespace {

using namespace std::chrono_literals;

// A loopback port nobody listens on: bound, then closed.
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t length = sizeof addr;
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Everything the request writes, and how it ended.
class FakeClient final : public ClientSide {
public:
    explicit FakeClient(net::Worker& worker) : worker_(worker) {}

    void parse(std::string_view bytes) {
        parser_.reset();
        ASSERT_EQ(parser_.feed(bytes.data(), bytes.size()).status,
                  http::HeadParser::Status::Complete);
        written.clear();
        ended = false;
    }

    const http::RequestHead& head() const override { return parser_.request(); }
    std::string_view peer_host() const override { return peer; }
    void read_body() override { ADD_FAILURE() << "no test here has a body"; }
    RequestBody& body() override { return body_; }
    void write(std::string_view bytes) override { written.append(bytes); }
    void write_borrowed(const void* data, std::size_t length, net::BorrowRelease release,
                        void* token) override {
        written.append(static_cast<const char*>(data), length);
        release(data, length, token);
    }
    std::size_t write_now(std::span<const std::string_view> parts) override {
        for (std::string_view part : parts) {
            written.append(part);
        }
        return written.size();
    }
    void move_from(net::Connection&, std::size_t) override { ADD_FAILURE() << "no body moves"; }
    std::size_t queued() const override { return 0; }
    void request_ended(bool keep_alive, bool cut, bool reset) override {
        ended = true;
        ended_keep_alive = keep_alive;
        ended_cut = cut || reset;
        if (stop_on_end) {
            worker_.stop();
        }
    }

    std::string peer = "127.0.0.1";
    std::string written;
    bool ended = false;
    bool ended_keep_alive = false;
    bool ended_cut = false;
    bool stop_on_end = false;

private:
    net::Worker& worker_;
    http::HeadParser parser_{http::HeadKind::Request, {}};
    RequestBody body_;
};

class RequestFsmTest : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string yaml = "listen:\n  - address: 127.0.0.1:0\n"
                                 "admin:\n  address: 127.0.0.1:0\n  purge_from: [10.0.0.0/8]\n"
                                 "origins:\n  api:\n    servers:\n      - address: 127.0.0.1:" +
                                 std::to_string(closed_port()) +
                                 "\n    connect_timeout: 1s\n"
                                 "routes:\n  - name: cached\n    match: { path_prefix: /c/ }\n"
                                 "    cache: { key_params: all, ttl: 60s }\n"
                                 "default_route: reject\n";
        auto g = std::make_shared<Generation>();
        g->config = config::load_config_string(yaml, "t.yaml");
        g->pool_specs = origin::build_pool_specs(g->config);
        g->routes = std::make_unique<RouteTable>(g->config);
        ctx_.store = &store_;
        ctx_.coalescer = &coalescer_;
        ctx_.switch_to(std::make_unique<WorkerGeneration>(worker_, std::move(g), 1, nullptr));
        request_ = std::make_unique<RequestFsm>(ctx_, client_); // sized by the config's limits
    }
    void TearDown() override { request_.reset(); }

    // Runs the request; for one that parks, the worker's loop until it ends (5 s at most).
    void run(std::string_view request) {
        client_.parse(request);
        request_->start();
        if (client_.ended) {
            return;
        }
        client_.stop_on_end = true;
        net::Timer bound(
            worker_, [](void* w) { static_cast<net::Worker*>(w)->stop(); }, &worker_);
        bound.arm(5000ms);
        worker_.run();
        client_.stop_on_end = false;
        ASSERT_TRUE(client_.ended) << "the request did not end within 5 s";
    }

    std::string trace() const {
        std::string names;
        const StepHistory& h = request_->history();
        for (std::size_t i = 0; i < h.size(); ++i) {
            names += (i > 0 ? " " : "") + std::string(step_name(h.at(i).step));
        }
        return names;
    }

    net::Worker worker_{0};
    std::atomic<std::uint32_t> open_{0};
    WorkerContext ctx_{worker_, open_};
    cache::ObjectStore store_{64 << 20};
    cache::Coalescer coalescer_;
    FakeClient client_{worker_};
    std::unique_ptr<RequestFsm> request_;
};

TEST_F(RequestFsmTest, ARequestNoRouteTakesIsAnsweredByTheProxyAndTheConnectionGoesOn) {
    run("GET /elsewhere HTTP/1.1\r\nHost: api.test\r\n\r\n");
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 404 Not Found\r\n")) << client_.written;
    EXPECT_TRUE(client_.ended_keep_alive);
    EXPECT_FALSE(request_->active());
    EXPECT_EQ(trace(), "Recv Route Synth Done");
}

TEST_F(RequestFsmTest, ATargetWithAFragmentIs400AndTheConnectionCloses) {
    run("GET /c/x#f HTTP/1.1\r\nHost: api.test\r\n\r\n");
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 400 Bad Request\r\n")) << client_.written;
    EXPECT_NE(client_.written.find("Connection: close\r\n"), std::string::npos);
    EXPECT_FALSE(client_.ended_keep_alive);
    EXPECT_EQ(trace(), "Recv Synth Done");
}

TEST_F(RequestFsmTest, PurgeFromAnAddressOutsidePurgeFromIs403AndInsideIsCounted) {
    run("PURGE /c/x HTTP/1.1\r\nHost: api.test\r\n\r\n");
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 403 Forbidden\r\n")) << client_.written;
    client_.peer = "10.1.2.3";
    run("PURGE /c/x HTTP/1.1\r\nHost: api.test\r\n\r\n");
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 200 OK\r\n")) << client_.written;
    EXPECT_NE(client_.written.find("{\"purged\": 0}"), std::string::npos);
    EXPECT_EQ(trace(), "Recv Route Done");
}

TEST_F(RequestFsmTest, AMissWhoseOriginRefusesIs502AfterTheFetchFailed) {
    run("GET /c/item HTTP/1.1\r\nHost: api.test\r\n\r\n");
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 502 Bad Gateway\r\n")) << client_.written;
    EXPECT_TRUE(client_.ended_keep_alive); // nothing was cut: the connection can go on
    EXPECT_FALSE(client_.ended_cut);
    // Relay parks, then resumes on the failure: a resumed step is recorded again.
    EXPECT_EQ(trace(), "Recv Route Lookup Fetch Relay Relay OriginFailed Synth Done");
    EXPECT_EQ(store_.stats().objects, 0u);
}

TEST_F(RequestFsmTest, TheRequestIsReusedForTheNextOneOnTheConnection) {
    run("GET /elsewhere HTTP/1.1\r\nHost: api.test\r\n\r\n");
    run("GET /c/x?%zz HTTP/1.1\r\nHost: api.test\r\n\r\n"); // a key with a bad escape
    EXPECT_TRUE(client_.written.starts_with("HTTP/1.1 400 Bad Request\r\n")) << client_.written;
    EXPECT_TRUE(client_.ended_keep_alive);
    EXPECT_EQ(trace(), "Recv Route Lookup Synth Done");
}

} // namespace
} // namespace lacquer::proxy
