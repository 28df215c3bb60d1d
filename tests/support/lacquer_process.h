#pragma once
// LacquerProcess: the real lacquerd binary ($LACQUERD, else this build tree's) started on a config
// file in a private temp directory. The constructor waits (bounded) for the "listening on" lines
// and reports a test failure with lacquerd's stderr if they do not come. stdout and stderr are
// captured to files that tests can read. The process is SIGKILLed on destruction if still running.
// Control methods (signals, waits) are for the test's own thread.

#include "support/child_process.h"
#include "support/deadline.h"
#include "support/header_fields.h"
#include "support/http_client.h"
#include "support/listen_lines.h"
#include "support/test_config.h"

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::test {

class LacquerProcess {
public:
    struct Options {
        std::string binary;           // default: binary_from_env()
        std::size_t listeners = 0;    // lines to wait for; 0: from TestConfig, else 1
        bool expect_listening = true; // false: return at once (start-up failure tests)
        Millis start_timeout = Millis(10'000);
        std::vector<std::string> extra_args; // after --config FILE
        // A program (absolute path) and its arguments that run lacquerd and become it by exec,
        // such as {"/usr/bin/prlimit", "--nofile=256:512"}; pid() is then lacquerd's.
        std::vector<std::string> wrapper;
    };

    explicit LacquerProcess(const TestConfig& config);
    LacquerProcess(const TestConfig& config, Options options);
    explicit LacquerProcess(std::string_view yaml);
    LacquerProcess(std::string_view yaml, Options options);
    ~LacquerProcess();
    LacquerProcess(const LacquerProcess&) = delete;
    LacquerProcess& operator=(const LacquerProcess&) = delete;

    // True when the process started and printed every expected listening line.
    bool started() const { return started_; }

    std::uint16_t port(std::size_t listener = 0) const;
    std::string address(std::size_t listener = 0) const;     // "127.0.0.1:PORT"
    std::uint16_t admin_port() const { return admin_port_; } // 0 unless a line named "admin"
    int worker_threads() const { return worker_threads_; }
    pid_t pid() const { return child_.pid(); }

    const std::filesystem::path& config_path() const { return config_path_; }
    // Replaces the config file atomically (then send_signal(SIGHUP) to reload).
    void rewrite_config(std::string_view yaml);
    void rewrite_config(const TestConfig& config) { rewrite_config(config.yaml()); }

    std::string stdout_text() const { return child_.stdout_text(); }
    std::string stderr_text() const { return child_.stderr_text(); }
    std::filesystem::path stdout_path() const { return child_.stdout_path(); }
    std::filesystem::path stderr_path() const { return child_.stderr_path(); }
    [[nodiscard]] bool wait_for_stdout(std::string_view needle, Millis timeout);
    [[nodiscard]] bool wait_for_stderr(std::string_view needle, Millis timeout);

    bool send_signal(int signal);
    std::optional<int> wait_exit(Millis timeout); // raw wait status; nullopt while running
    bool is_running() { return child_.is_running(); }

    // Conveniences on listener 0 and on the admin listener.
    Response get(std::string_view target, const HeaderFields& headers = {},
                 Millis timeout = 5s) const;
    ConcurrentGets get_concurrently(std::string_view target, int n,
                                    const HeaderFields& headers = {}) const;
    [[nodiscard]] bool wait_for_metric(std::string_view name, double at_least, Millis timeout,
                                       std::string_view label_filter = {}) const;

    struct CheckResult {
        int exit_code = -1; // -1: did not exit normally (killed, or timed out)
        std::string stdout_text;
        std::string stderr_text;
        std::string config_path; // the file named in FILE:LINE:COL messages (deleted afterwards)
    };
    // Runs `lacquerd --check-config --config FILE` on `yaml` and waits for it to exit.
    static CheckResult run_check_config(std::string_view yaml, Millis timeout = 10s,
                                        std::string binary = {});

    // $LACQUERD, else the lacquerd built by this tree, else "" after reporting a test failure
    // that says how to set it.
    static std::string binary_from_env();

private:
    void launch(std::string_view yaml, const Options& options, std::size_t listeners);

    TempDir dir_{"lacquer-test"};
    std::filesystem::path config_path_;
    ChildProcess child_;
    std::vector<ListenLine> listeners_;
    std::uint16_t admin_port_ = 0;
    int worker_threads_ = 0;
    bool started_ = false;
};

} // namespace lacquer::test
