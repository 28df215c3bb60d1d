// Start-up is a bounded wait on stdout; every failure message carries lacquerd's own stderr,
// because that is almost always where the reason is.
#include "support/lacquer_process.h"

#include "support/metrics_scrape.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/wait.h>

namespace lacquer::test {

namespace {

constexpr std::size_t kStderrTail = 4096;

std::string tail(const std::string& text) {
    return text.size() <= kStderrTail ? text : "..." + text.substr(text.size() - kStderrTail);
}

} // namespace

std::string LacquerProcess::binary_from_env() {
    const char* path = std::getenv("LACQUERD");
    if (path != nullptr && *path != '\0') {
        return path;
    }
#ifdef LACQUER_BUILT_LACQUERD
    return LACQUER_BUILT_LACQUERD; // the binary of this build tree (tests/support/CMakeLists.txt)
#else
    ADD_FAILURE() << "LACQUERD is not set and this build has no lacquerd target: export "
                     "LACQUERD=/path/to/build/lacquerd";
    return {};
#endif
}

LacquerProcess::LacquerProcess(const TestConfig& config) : LacquerProcess(config, Options{}) {}

LacquerProcess::LacquerProcess(const TestConfig& config, Options options) {
    const std::size_t listeners = options.listeners != 0
                                      ? options.listeners
                                      : static_cast<std::size_t>(config.listener_count());
    launch(config.yaml(), options, listeners);
}

LacquerProcess::LacquerProcess(std::string_view yaml) : LacquerProcess(yaml, Options{}) {}

LacquerProcess::LacquerProcess(std::string_view yaml, Options options) {
    launch(yaml, options, options.listeners != 0 ? options.listeners : 1);
}

LacquerProcess::~LacquerProcess() {
    if (::testing::Test::HasFailure() && child_.pid() > 0) {
        std::fprintf(stderr, "[support] lacquerd (pid %d) stderr, last %zu bytes:\n%s\n",
                     static_cast<int>(child_.pid()), kStderrTail,
                     tail(child_.stderr_text()).c_str());
    }
    child_.kill_and_reap();
}

void LacquerProcess::launch(std::string_view yaml, const Options& options, std::size_t listeners) {
    const std::string binary = options.binary.empty() ? binary_from_env() : options.binary;
    if (binary.empty()) {
        return;
    }
    config_path_ = dir_.write_file("lacquer.yaml", yaml);
    std::vector<std::string> args{"--config", config_path_.string()};
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    std::string program = binary;
    if (!options.wrapper.empty()) {
        program = options.wrapper.front();
        args.insert(args.begin(), binary);
        args.insert(args.begin(), options.wrapper.begin() + 1, options.wrapper.end());
    }
    std::string error;
    if (!child_.start(program, args, dir_.path(), "lacquerd", error)) {
        ADD_FAILURE() << "cannot start lacquerd: " << error;
        return;
    }
    if (!options.expect_listening) {
        return;
    }
    const bool ready = child_.wait_for_stdout(
        [&](std::string_view out) { return count_client_listeners(out) >= listeners; },
        options.start_timeout);
    if (!ready) {
        const std::optional<int> status = child_.wait_exit(Millis(0));
        ADD_FAILURE() << "lacquerd did not print " << listeners << " 'listening on' line(s) within "
                      << options.start_timeout.count() << " ms"
                      << (status ? " (it exited, wait status " + std::to_string(*status) + ")"
                                 : std::string(" (still running)"))
                      << "\nconfig " << config_path_.string() << ":\n"
                      << yaml << "\nstdout:\n"
                      << tail(child_.stdout_text()) << "\nstderr:\n"
                      << tail(child_.stderr_text());
        return;
    }
    for (ListenLine& line : parse_listen_lines(child_.stdout_text())) {
        if (line.admin) {
            admin_port_ = line.port;
        } else {
            worker_threads_ = line.worker_threads;
            listeners_.push_back(std::move(line));
        }
    }
    started_ = true;
}

std::uint16_t LacquerProcess::port(std::size_t listener) const {
    if (listener >= listeners_.size()) {
        ADD_FAILURE() << "lacquerd listener " << listener << " requested; " << listeners_.size()
                      << " known (did it start?)";
        return 0;
    }
    return listeners_[listener].port;
}

std::string LacquerProcess::address(std::size_t listener) const {
    return "127.0.0.1:" + std::to_string(port(listener));
}

void LacquerProcess::rewrite_config(std::string_view yaml) {
    config_path_ = dir_.write_file("lacquer.yaml", yaml);
}

bool LacquerProcess::wait_for_stdout(std::string_view needle, Millis timeout) {
    return child_.wait_for_stdout(
        [&](std::string_view out) { return out.find(needle) != std::string_view::npos; }, timeout);
}

bool LacquerProcess::wait_for_stderr(std::string_view needle, Millis timeout) {
    return child_.wait_for_stderr(
        [&](std::string_view err) { return err.find(needle) != std::string_view::npos; }, timeout);
}

bool LacquerProcess::send_signal(int signal) {
    return child_.send_signal(signal);
}

std::optional<int> LacquerProcess::wait_exit(Millis timeout) {
    return child_.wait_exit(timeout);
}

Response LacquerProcess::get(std::string_view target, const HeaderFields& headers,
                             Millis timeout) const {
    return http_get(port(), target, headers, timeout);
}

ConcurrentGets LacquerProcess::get_concurrently(std::string_view target, int n,
                                                const HeaderFields& headers) const {
    return ConcurrentGets(port(), std::string(target), n, headers);
}

bool LacquerProcess::wait_for_metric(std::string_view name, double at_least, Millis timeout,
                                     std::string_view label_filter) const {
    return expect_metric(admin_port_, name, at_least, timeout, label_filter);
}

LacquerProcess::CheckResult LacquerProcess::run_check_config(std::string_view yaml, Millis timeout,
                                                             std::string binary) {
    CheckResult result;
    if (binary.empty()) {
        binary = binary_from_env();
        if (binary.empty()) {
            return result;
        }
    }
    TempDir dir("lacquer-check");
    const std::filesystem::path config = dir.write_file("lacquer.yaml", yaml);
    result.config_path = config.string();
    ProgramRun run = run_to_exit(binary, {"--check-config", "--config", result.config_path},
                                 dir.path(), timeout);
    if (run.exit_code < 0) {
        ADD_FAILURE() << "lacquerd --check-config did not exit normally: " << run.stderr_text;
    }
    result.exit_code = run.exit_code;
    result.stdout_text = std::move(run.stdout_text);
    result.stderr_text = std::move(run.stderr_text);
    return result;
}

} // namespace lacquer::test
