#pragma once
// Blocking loopback sockets with deadlines: the only socket code in the support library. Every
// call that can block polls with a deadline and, optionally, a "stop" fd whose readability means
// "give up now" (a ScriptedOrigin shutting down).

#include "support/deadline.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace lacquer::test {

// Owns one file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release();
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// A listening socket on 127.0.0.1:`port` (0: any; SO_REUSEADDR, so a test can bring a stopped
// server back on its port); `port` receives the bound port. Invalid fd + `error` on failure.
UniqueFd listen_loopback(std::uint16_t& port, std::string& error);

// Connects to host:port within `timeout`.
UniqueFd connect_tcp(std::string_view host, std::uint16_t port, Millis timeout, std::string& error);

std::uint16_t local_port(int fd);

enum class IoStatus { Ok, Eof, Timeout, Stopped, Error };
const char* io_status_name(IoStatus status);

// Appends whatever arrives (at most one recv) to `out`. Ok means at least one byte was appended.
IoStatus read_some(int fd, std::string& out, const Deadline& deadline, int stop_fd = -1);

// Writes all of `data` unless the deadline passes, the peer goes away or `stop_fd` fires.
IoStatus send_all(int fd, std::string_view data, const Deadline& deadline, int stop_fd = -1);

// Closes with SO_LINGER {1, 0} so the peer sees a TCP RST instead of a FIN.
void close_with_reset(UniqueFd& fd);

} // namespace lacquer::test
