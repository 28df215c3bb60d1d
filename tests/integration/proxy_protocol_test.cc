// PROXY protocol v1 and v2 and Unix-domain socket listeners against a real lacquerd (issue 18):
// the client address a trusted header carries is the one in the access log, X-Forwarded-For and
// purge_from; a missing or malformed header from a proxy_from peer closes the connection; a
// header from a peer outside proxy_from is refused; a unix: listener serves with its mode set.
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sends `bytes` on a new connection and returns everything read until the close (or 5 s).
std::string exchange(UniqueFd fd, const std::string& bytes) {
    if (!fd.valid()) {
        return "<no connection>";
    }
    const Deadline deadline(5s);
    if (send_all(fd.get(), bytes, deadline) != IoStatus::Ok) {
        return "<send failed>";
    }
    std::string got;
    while (read_some(fd.get(), got, deadline) == IoStatus::Ok) {
    }
    return got;
}

std::string exchange_tcp(std::uint16_t port, const std::string& bytes) {
    std::string error;
    return exchange(connect_tcp("127.0.0.1", port, 5s, error), bytes);
}

std::string v2_header(const char* source, std::uint8_t command = 0x21) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h.push_back(static_cast<char>(command));
    h.push_back(0x11); // TCP over IPv4
    h.push_back(0);
    h.push_back(12);
    in_addr src{};
    in_addr dst{};
    inet_pton(AF_INET, source, &src);
    inet_pton(AF_INET, "127.0.0.1", &dst);
    h.append(reinterpret_cast<const char*>(&src), 4);
    h.append(reinterpret_cast<const char*>(&dst), 4);
    h.append("\x04\xd2\x00\x50", 4);
    return h;
}

const std::string kRequest = "GET /v3/who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

class ProxyProtocolTest : public ::testing::Test {
protected:
    void SetUp() override {
        origin_.on_any([](OriginExchange& ex) {
            const std::string xff = ex.request().header("X-Forwarded-For");
            ex.respond(200, {{"Cache-Control", "no-store"}}, "xff=" + xff);
        });
    }
    std::string yaml(std::string_view listeners) const {
        return "workers: 1\nlisten:\n" + std::string(listeners) +
               "admin: { address: 127.0.0.1:0, purge_from: [203.0.113.0/24] }\n"
               "log: { access: stdout }\norigins:\n  api:\n    servers:\n      - address: " +
               origin_.address() + "\n";
    }
    ScriptedOrigin origin_;
};

TEST_F(ProxyProtocolTest, AnAllowedPeersHeaderGivesTheClientAddress) {
    LacquerProcess lacquer(yaml("  - address: 127.0.0.1:0\n    proxy_protocol: true\n"
                                "    proxy_from: [127.0.0.1/32]\n"));
    ASSERT_TRUE(lacquer.started());
    const std::string v1 =
        exchange_tcp(lacquer.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n" + kRequest);
    EXPECT_THAT(v1, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(v1, HasSubstr("xff=203.0.113.7"));
    const std::string v2 = exchange_tcp(lacquer.port(), v2_header("198.51.100.9") + kRequest);
    EXPECT_THAT(v2, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(v2, HasSubstr("xff=198.51.100.9"));
    // LOCAL (a health check of the balancer itself): the socket's peer stays the client.
    const std::string local = exchange_tcp(lacquer.port(), v2_header("0.0.0.0", 0x20) + kRequest);
    EXPECT_THAT(local, HasSubstr("xff=127.0.0.1"));
    ASSERT_TRUE(lacquer.wait_for_stdout("203.0.113.7 - - [", 5s)) << lacquer.stdout_text();
    ASSERT_TRUE(lacquer.wait_for_stdout("198.51.100.9 - - [", 5s)) << lacquer.stdout_text();
    // purge_from judges the header's address.
    const std::string purge = exchange_tcp(
        lacquer.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"
                        "PURGE /v3/who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(purge, StartsWith("HTTP/1.1 200"));
    const std::string denied = exchange_tcp(
        lacquer.port(), "PROXY TCP4 192.0.2.1 127.0.0.1 5555 80\r\n"
                        "PURGE /v3/who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(denied, StartsWith("HTTP/1.1 403"));
}

TEST_F(ProxyProtocolTest, AMissingOrMalformedHeaderFromAnAllowedPeerCloses) {
    LacquerProcess lacquer(yaml("  - address: 127.0.0.1:0\n    proxy_protocol: true\n"
                                "    proxy_from: [127.0.0.1/32]\n"));
    ASSERT_TRUE(lacquer.started());
    EXPECT_EQ(exchange_tcp(lacquer.port(), kRequest), "");
    EXPECT_EQ(exchange_tcp(lacquer.port(), "PROXY TCP4 nonsense\r\n" + kRequest), "");
    EXPECT_EQ(
        exchange_tcp(lacquer.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 99999 80\r\n" + kRequest),
        "");
    std::string bad_v2 = v2_header("203.0.113.7");
    bad_v2[13] = 0x12; // TCP4 family with a DGRAM transport
    EXPECT_EQ(exchange_tcp(lacquer.port(), bad_v2 + kRequest), "");
    EXPECT_THAT(
        exchange_tcp(lacquer.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 1 80\r\n" + kRequest),
        HasSubstr("xff=203.0.113.7")); // still serving
}

TEST_F(ProxyProtocolTest, AHeaderFromAPeerOutsideTheRangesIsRefused) {
    LacquerProcess lacquer(yaml("  - address: 127.0.0.1:0\n    proxy_protocol: true\n"
                                "    proxy_from: [10.0.0.0/8]\n"));
    ASSERT_TRUE(lacquer.started());
    EXPECT_EQ(
        exchange_tcp(lacquer.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n" + kRequest),
        "");
    EXPECT_EQ(exchange_tcp(lacquer.port(), v2_header("203.0.113.7") + kRequest), "");
    // Without a header it is a direct client, known by its own address.
    EXPECT_THAT(exchange_tcp(lacquer.port(), kRequest), HasSubstr("xff=127.0.0.1"));
}

TEST_F(ProxyProtocolTest, AUnixSocketListenerServesWithItsModeAndOwner) {
    TempDir dir("lacquer-unix");
    const std::string path = (dir.path() / "http.sock").string();
    // chown to oneself needs no privilege; the test's only thread looks names up
    const passwd* me = ::getpwuid(::getuid()); // NOLINT(concurrency-mt-unsafe)
    ASSERT_NE(me, nullptr);
    const group* my_group = ::getgrgid(::getgid()); // NOLINT(concurrency-mt-unsafe)
    ASSERT_NE(my_group, nullptr);
    LacquerProcess lacquer(yaml("  - address: unix:" + path + "\n    mode: \"0600\"\n" +
                                "    owner: " + me->pw_name + ":" + my_group->gr_name + "\n" +
                                "  - address: 127.0.0.1:0\n"));
    ASSERT_TRUE(lacquer.started());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::getuid());
    EXPECT_EQ(st.st_gid, ::getgid());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string answer = exchange(std::move(fd), kRequest);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(answer, HasSubstr("xff=unix:"));
    ASSERT_TRUE(lacquer.wait_for_stdout("unix: - - [", 5s)) << lacquer.stdout_text();

    // A reload keeps the socket and gives its file the new mode.
    lacquer.rewrite_config(yaml("  - address: unix:" + path + "\n    mode: \"0660\"\n" +
                                "  - address: 127.0.0.1:0\n"));
    ASSERT_TRUE(lacquer.send_signal(SIGHUP));
    ASSERT_TRUE(lacquer.wait_for_stderr("lacquerd: reloaded", 5s)) << lacquer.stderr_text();
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    ASSERT_TRUE(lacquer.send_signal(SIGTERM));
    ASSERT_TRUE(lacquer.wait_exit(10s).has_value());
    EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket file stays after the stop";
}

} // namespace
} // namespace lacquer::test
