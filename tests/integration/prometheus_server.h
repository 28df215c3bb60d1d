#pragma once
// PrometheusServer: a real Prometheus server (Debian's /usr/bin/prometheus, or $LACQUER_PROMETHEUS)
// started by a test, with its own config and TSDB in a private temp directory, scraping the
// given targets every second. It binds 127.0.0.1:0 itself and its web component logs the bound
// address (`msg="Listening on" address=127.0.0.1:PORT`, Prometheus 2.42), so there is no
// bind-close-handover race; the Debian package's systemd service (port 9090, /var/lib) is never
// touched. Also: running the command-line tools a test needs (promtool, python3) with a bound.
// For the test's own thread; every call is bounded.

#include "support/child_process.h"
#include "support/deadline.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::test {

// One sample of an instant query: the label set as Prometheus prints it (JSON object text), the
// sample timestamp exactly as sent (seconds with up to 3 decimals) and the value.
struct PromSample {
    std::string metric;
    std::string timestamp;
    std::string value_text; // as sent: "0.5", "NaN", "1763900000.123"
    double value = 0;
};

struct PromQueryResult {
    bool ok = false;
    std::string error; // Prometheus' error, or why the request failed
    std::vector<PromSample> samples;
    std::string body; // the raw answer, for failure messages
};

class PrometheusServer {
public:
    struct Options {
        std::string job = "lacquer";
        std::vector<std::string> targets; // host:port, scraped at /metrics
        std::vector<std::string> rule_files;
        Millis interval{1000}; // scrape and rule evaluation
        Millis start_timeout{30'000};
    };

    explicit PrometheusServer(Options options);
    ~PrometheusServer();
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    // True once the port was read from the log and /-/ready answered 200.
    bool started() const { return started_; }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string log_text() const { return child_.stderr_text(); }

    // GET /api/v1/query. `time` is sent verbatim (Unix seconds) when given.
    PromQueryResult query(std::string_view promql, std::string_view time = {},
                          Millis timeout = 5s) const;
    // The single value of `promql`, or nullopt (no sample, several, or an error).
    std::optional<PromSample> query_one(std::string_view promql, std::string_view time = {}) const;
    // Repeats the query (about every 100 ms) until its single value is >= at_least.
    [[nodiscard]] std::optional<PromSample> wait_for_value(std::string_view promql, double at_least,
                                                           Millis timeout) const;
    // GET any path of the HTTP API; the body, or "" unless 200.
    std::string get(std::string_view target, Millis timeout = 5s) const;

    // $LACQUER_PROMETHEUS, else the prometheus found when the build was configured.
    static std::string binary_from_env();

private:
    TempDir dir_{"lacquer-prometheus"}; // declared first: outlives the process using it
    ChildProcess child_;
    std::uint16_t port_ = 0;
    bool started_ = false;
};

// What a finished command-line tool said.
struct ToolRun {
    int exit_code = -1; // -1: killed, or did not exit by the deadline
    std::string stdout_text;
    std::string stderr_text;
    std::string summary() const; // exit code and both outputs, for failure messages
};

// Runs `binary args...` (an absolute path: no PATH search) and waits for it to exit.
ToolRun run_tool(const std::string& binary, const std::vector<std::string>& args,
                 Millis timeout = 30s);

// Tool paths: the environment ($LACQUER_PROMTOOL, $LACQUER_PYTHON3, $LACQUER_SOURCE_DIR) wins
// over what CMake found. An empty string after a reported test failure if neither exists.
std::string promtool_binary();
std::string python3_binary();
std::string source_dir();

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view text);

// Unix seconds as Prometheus prints them ("1763900000.123") to milliseconds; -1 if malformed.
std::int64_t unix_millis(std::string_view seconds);

} // namespace lacquer::test
