#pragma once
// DemoOriginProcess: the lacquer-demo-origin binary ($LACQUER_DEMO_ORIGIN, else this build's) on
// 127.0.0.1:0, for tests and benchmarks that want a fast real origin rather than a scripted one.
// Its counters are read over HTTP (GET /__stats) and zeroed with POST /__reset.

#include "support/child_process.h"
#include "support/deadline.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::test {

struct DemoOriginStats {
    std::uint64_t requests = 0;
    std::uint64_t connections = 0;
    std::map<std::string, std::uint64_t> by_target; // "/path?query" -> requests
};

// Parses the /__stats JSON; nullopt (and `error`) when it does not have the expected shape.
std::optional<DemoOriginStats> parse_demo_stats(std::string_view json, std::string& error);

class DemoOriginProcess {
public:
    struct Options {
        std::string binary; // default: binary_from_env()
        int threads = 1;
        Millis start_timeout = Millis(10'000);
    };

    DemoOriginProcess() : DemoOriginProcess(Options{}) {}
    explicit DemoOriginProcess(Options options);
    ~DemoOriginProcess() = default;
    DemoOriginProcess(const DemoOriginProcess&) = delete;
    DemoOriginProcess& operator=(const DemoOriginProcess&) = delete;

    bool started() const { return port_ != 0; }
    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return child_.pid(); }
    std::string stderr_text() const { return child_.stderr_text(); }

    // nullopt after reporting a test failure.
    std::optional<DemoOriginStats> stats(Millis timeout = 5s) const;
    std::uint64_t count(std::string_view target) const; // 0 if unknown or unreadable
    [[nodiscard]] bool reset_stats(Millis timeout = 5s) const;

    bool send_signal(int signal) { return child_.send_signal(signal); }
    std::optional<int> wait_exit(Millis timeout) { return child_.wait_exit(timeout); }

    // $LACQUER_DEMO_ORIGIN, else the one built by this tree, else "" after a test failure.
    static std::string binary_from_env();

private:
    TempDir dir_{"lacquer-demo-origin"};
    ChildProcess child_;
    std::uint16_t port_ = 0;
};

} // namespace lacquer::test
