// ConnectionBalancer: a worker hands a new connection over only when it serves at least two more
// than the least loaded joined worker; the socket reaches that worker's thread with its peer and
// listener; a worker that left gets nothing; a socket posted to a worker that stops unrun is
// closed, and counts as pending until then.
#include "lacquer/net/connection_balancer.h"
#include "lacquer/net/worker.h"
#include "support/deadline.h"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace lacquer::net {
namespace {

using namespace std::chrono_literals;

ConnectionBalancer::Deliver ignore() {
    return [](int fd, const sockaddr*, std::size_t, std::string_view) { ::close(fd); };
}

// A balancer with workers 0, 1 and 2 joined (not running: the decisions need no loop).
struct ThreeWorkers {
    ConnectionBalancer b{8};
    Worker w0{0};
    Worker w1{1};
    Worker w2{2};
    ThreeWorkers() {
        b.join(0, w0, ignore());
        b.join(1, w1, ignore());
        b.join(2, w2, ignore());
    }
};

TEST(ConnectionBalancer, PicksTheLeastLoadedWorkerOnlyTwoConnectionsBehind) {
    ThreeWorkers three;
    ConnectionBalancer& b = three.b;
    b.load(0)->store(1);
    EXPECT_EQ(b.pick(0), -1) << "one connection is no imbalance";
    b.load(0)->store(2);
    b.load(1)->store(1);
    b.load(2)->store(1);
    EXPECT_EQ(b.pick(0), -1) << "one more than the others: keep it";
    b.load(0)->store(5);
    b.load(1)->store(3);
    b.load(2)->store(2);
    EXPECT_EQ(b.pick(0), 2);
    EXPECT_EQ(b.pick(2), -1); // the least loaded keeps its own
    b.leave(2);
    EXPECT_EQ(b.pick(0), 1) << "a worker that left is never picked";
    EXPECT_EQ(b.pick(2), -1) << "nor does it hand anything on";
    b.leave_all();
    EXPECT_EQ(b.pick(0), -1);
    EXPECT_EQ(b.connections(0), 5u);
    EXPECT_EQ(b.connections(99), 0u);
}

TEST(ConnectionBalancer, AHandedSocketReachesTheTargetsThreadWithItsPeerAndListener) {
    ConnectionBalancer b(4);
    Worker from(0);
    Worker to(1);
    std::mutex mutex;
    std::thread::id ran_on;
    int got_fd = -1;
    std::size_t got_listener = 0;
    std::string got_key;
    std::string got_peer;
    std::atomic<bool> delivered{false};
    b.join(0, from, ignore());
    b.join(1, to, [&](int fd, const sockaddr* peer, std::size_t listener, std::string_view key) {
        std::lock_guard<std::mutex> lock(mutex);
        ran_on = std::this_thread::get_id();
        got_fd = fd;
        got_listener = listener;
        got_key = key;
        char text[INET_ADDRSTRLEN] = {};
        const auto* in = reinterpret_cast<const sockaddr_in*>(peer);
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        got_peer = std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
        b.load(1)->fetch_add(1); // as a session that starts counts itself
        delivered = true;
    });
    std::thread::id to_thread;
    to.start([&] { to_thread = std::this_thread::get_id(); });
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(40123);
    inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
    b.load(0)->store(2);
    ASSERT_EQ(b.pick(0), 1);
    ASSERT_TRUE(b.hand_to(1, pair[0], reinterpret_cast<const sockaddr*>(&peer), 3, "key:80"));
    EXPECT_EQ(b.pick(0), -1) << "the socket on its way counts for its target";
    ASSERT_TRUE(test::eventually(10s, [&] { return delivered.load(); }));
    to.stop();
    to.join();
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(ran_on, to_thread);
    EXPECT_EQ(got_fd, pair[0]);
    EXPECT_EQ(got_listener, 3u);
    EXPECT_EQ(got_key, "key:80");
    EXPECT_EQ(got_peer, "192.0.2.7:40123");
    EXPECT_EQ(b.handed_off(), 1u);
    ::close(pair[0]);
    ::close(pair[1]);
}

TEST(ConnectionBalancer, NothingGoesToAWorkerThatLeftAndAnUnrunHandOffClosesTheSocket) {
    ConnectionBalancer b(4);
    auto stopped = std::make_unique<Worker>(1);
    b.join(1, *stopped, [](int, const sockaddr*, std::size_t, std::string_view) {
        ADD_FAILURE() << "a worker that never runs delivered a socket";
    });
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    // Posted, never run: the worker is destroyed without running its loop.
    ASSERT_TRUE(b.hand_to(1, pair[0], nullptr, 0, "k"));
    Worker accepting(0);
    b.join(0, accepting, ignore());
    b.load(0)->store(2);
    EXPECT_EQ(b.pick(0), -1) << "worker 1 has a socket on its way: 2 vs 1, not 2 vs 0";
    b.leave(1);
    stopped.reset();
    char byte = 0;
    EXPECT_EQ(::recv(pair[1], &byte, 1, 0), 0) << "the unrun hand-off's socket was not closed";
    ::close(pair[1]);
    Worker other(2);
    b.join(2, other, ignore());
    EXPECT_EQ(b.pick(0), 2) << "the closed hand-off no longer counts for anyone";
    b.leave(2);
    int again[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, again), 0);
    EXPECT_FALSE(b.hand_to(2, again[0], nullptr, 0, "k")) << "worker 2 left";
    EXPECT_EQ(::send(again[1], "x", 1, MSG_DONTWAIT), 1) << "a refused socket stays the caller's";
    ::close(again[0]);
    ::close(again[1]);
}

TEST(ConnectionBalancer, WorkersThatDoNotTakeConnectionsHandThemAllOnAndShedTheirOwn) {
    ThreeWorkers three;
    ConnectionBalancer& b = three.b;
    b.load(0)->store(4);
    b.load(1)->store(3);
    b.load(2)->store(5);
    EXPECT_EQ(b.active(), 3u) << "never set: every joined worker takes connections";
    const unsigned order[] = {0, 1, 2};
    b.set_active(order, 1); // a shrink: only worker 0 takes connections
    EXPECT_EQ(b.active(), 1u);
    EXPECT_TRUE(b.taking(0));
    EXPECT_FALSE(b.taking(1));
    EXPECT_EQ(b.pick(1), 0) << "a worker that does not take connections hands on even one";
    EXPECT_EQ(b.pick(2), 0);
    EXPECT_EQ(b.pick(0), -1) << "the only taking worker keeps its own, however loaded";
    // Worker 0 keeps its 4; workers 1 and 2 shed all theirs, one per request that starts.
    EXPECT_FALSE(b.take_shed(0));
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(b.take_shed(1)) << i;
    }
    EXPECT_FALSE(b.take_shed(1));
    int shed2 = 0;
    while (b.take_shed(2) && shed2 < 10) {
        ++shed2;
    }
    EXPECT_EQ(shed2, 5);
    EXPECT_EQ(b.shed_connections(), 8u);
    // Their clients reconnected to worker 0: 12 there. Growing to 2 sheds worker 0's excess
    // over an even share (6), so half its clients move to worker 1.
    b.load(0)->store(12);
    b.load(1)->store(0);
    b.load(2)->store(0);
    b.set_active(order, 2);
    EXPECT_TRUE(b.taking(1));
    EXPECT_EQ(b.pick(0), 1) << "12 vs 0";
    int shed0 = 0;
    while (b.take_shed(0) && shed0 < 20) {
        ++shed0;
    }
    EXPECT_EQ(shed0, 6);
    // Back to all three (a reload to a fixed count): no growth past what the workers hold now
    // sheds nothing unless more take connections than before.
    b.load(0)->store(6);
    b.load(1)->store(6);
    b.set_active(order, 3);
    EXPECT_EQ(b.take_shed(0) + b.take_shed(1), 2) << "grew: 6 and 6 over an even 4 each";
    b.set_active(order, 3);
    EXPECT_FALSE(b.take_shed(0)) << "the same count again sheds nothing more";
    b.leave(2);
    b.join(2, three.w2, ignore());
    EXPECT_TRUE(b.taking(2)) << "a worker that joins takes connections until told otherwise";
    EXPECT_EQ(b.active(), 3u);
    b.leave_all();
    EXPECT_EQ(b.active(), 0u) << "workers that left take nothing";
}

} // namespace
} // namespace lacquer::net
