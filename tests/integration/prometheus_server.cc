// Prometheus' HTTP API answers JSON; the few shapes the tests read (status, error, an instant
// vector or scalar) are picked out of the text directly rather than pulling a JSON library into
// the build for one test binary.
#include "prometheus_server.h"

#include "support/gate.h"
#include "support/http_client.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <gtest/gtest.h>
#include <limits>

namespace lacquer::test {

namespace {

constexpr std::string_view kListeningOn = "msg=\"Listening on\" address=";
constexpr Millis kPoll{100};

std::string from_env_or(const char* variable, const char* built_in, std::string_view what) {
    const char* env = std::getenv(variable);
    if (env != nullptr && *env != '\0') {
        return env;
    }
    if (*built_in != '\0') {
        return built_in;
    }
    ADD_FAILURE() << what << " not found when the build was configured and " << variable
                  << " is not set: run tools/install-deps.sh test, then re-run cmake";
    return {};
}

// The port in the first `msg="Listening on" address=HOST:PORT` log line; 0 if none yet.
std::uint16_t listening_port(std::string_view log) {
    const std::size_t at = log.find(kListeningOn);
    if (at == std::string_view::npos) {
        return 0;
    }
    std::string_view address = log.substr(at + kListeningOn.size());
    address = address.substr(0, address.find_first_of(" \n"));
    const std::size_t colon = address.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
            std::errc() ||
        port == 0 || port > 65535) {
        return 0;
    }
    return static_cast<std::uint16_t>(port);
}

// The JSON string that starts right after `at` (an opening quote), unescaped minimally.
std::string json_string_at(std::string_view text, std::size_t at) {
    std::string out;
    for (std::size_t i = at; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            ++i;
        }
        out += text[i];
    }
    return out;
}

// `[TIMESTAMP,"VALUE"]` starting at `at`; false if the text has another shape.
bool parse_sample_pair(std::string_view text, std::size_t at, PromSample& sample) {
    if (at >= text.size() || text[at] != '[') {
        return false;
    }
    const std::size_t comma = text.find(',', at);
    if (comma == std::string_view::npos || comma + 1 >= text.size() || text[comma + 1] != '"') {
        return false;
    }
    sample.timestamp = std::string(text.substr(at + 1, comma - at - 1));
    const std::string value = json_string_at(text, comma + 2);
    sample.value_text = value;
    if (value == "NaN" || value == "+Inf" || value == "-Inf") {
        sample.value = value == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                                      : (value[0] == '+' ? 1.0 : -1.0) *
                                            std::numeric_limits<double>::infinity();
        return true;
    }
    char* end = nullptr;
    sample.value = std::strtod(value.c_str(), &end);
    return end != value.c_str();
}

PromQueryResult parse_query_answer(std::string body) {
    PromQueryResult result;
    result.body = std::move(body);
    const std::string_view text = result.body;
    if (text.find("\"status\":\"success\"") == std::string_view::npos) {
        const std::size_t error = text.find("\"error\":\"");
        result.error = error == std::string_view::npos
                           ? "no success status in the answer"
                           : json_string_at(text, error + std::string_view("\"error\":\"").size());
        return result;
    }
    if (text.find("\"resultType\":\"scalar\"") != std::string_view::npos) {
        PromSample sample;
        const std::size_t at = text.find("\"result\":[");
        result.ok = at != std::string_view::npos &&
                    parse_sample_pair(text, at + std::string_view("\"result\":").size(), sample);
        result.samples.push_back(std::move(sample));
        return result;
    }
    if (text.find("\"resultType\":\"vector\"") == std::string_view::npos) {
        result.error = "not an instant vector or scalar";
        return result;
    }
    constexpr std::string_view kMetric = "{\"metric\":";
    constexpr std::string_view kValue = "\"value\":";
    for (std::size_t at = text.find(kMetric); at != std::string_view::npos;
         at = text.find(kMetric, at + 1)) {
        const std::size_t labels = at + kMetric.size();
        const std::size_t labels_end = text.find('}', labels);
        const std::size_t value = text.find(kValue, labels);
        PromSample sample;
        if (labels_end == std::string_view::npos || value == std::string_view::npos ||
            !parse_sample_pair(text, value + kValue.size(), sample)) {
            result.error = "cannot read a sample";
            return result;
        }
        sample.metric = std::string(text.substr(labels, labels_end + 1 - labels));
        result.samples.push_back(std::move(sample));
    }
    result.ok = true;
    return result;
}

} // namespace

std::string PrometheusServer::binary_from_env() {
    return from_env_or("LACQUER_PROMETHEUS", LACQUER_PROMETHEUS_BIN, "prometheus");
}

std::string promtool_binary() {
    return from_env_or("LACQUER_PROMTOOL", LACQUER_PROMTOOL_BIN, "promtool");
}

std::string python3_binary() {
    return from_env_or("LACQUER_PYTHON3", LACQUER_PYTHON3_BIN, "python3");
}

std::string source_dir() {
    return from_env_or("LACQUER_SOURCE_DIR", LACQUER_SOURCE_DIR_BUILT, "the source directory");
}

PrometheusServer::PrometheusServer(Options options) {
    const std::string binary = binary_from_env();
    if (binary.empty()) {
        return;
    }
    const std::string every = std::to_string(options.interval.count()) + "ms";
    std::string yaml = "global:\n  scrape_interval: " + every + "\n  scrape_timeout: " + every +
                       "\n  evaluation_interval: " + every + "\n";
    if (!options.rule_files.empty()) {
        yaml += "rule_files:\n";
        for (const std::string& file : options.rule_files) {
            yaml += "  - '" + file + "'\n";
        }
    }
    yaml += "scrape_configs:\n  - job_name: " + options.job +
            "\n    metrics_path: /metrics\n    static_configs:\n      - targets:\n";
    for (const std::string& target : options.targets) {
        yaml += "          - '" + target + "'\n";
    }
    const std::filesystem::path config = dir_.write_file("prometheus.yml", yaml);
    const std::vector<std::string> args{
        "--config.file=" + config.string(),
        "--storage.tsdb.path=" + (dir_.path() / "data").string(),
        "--web.listen-address=127.0.0.1:0",
        "--log.format=logfmt",
    };
    std::string error;
    if (!child_.start(binary, args, dir_.path(), "prometheus", error)) {
        ADD_FAILURE() << "cannot start " << binary << ": " << error;
        return;
    }
    const Deadline deadline(options.start_timeout);
    if (!child_.wait_for_stderr([](std::string_view log) { return listening_port(log) != 0; },
                                deadline.remaining())) {
        ADD_FAILURE() << "prometheus logged no '" << kListeningOn << "' line within "
                      << options.start_timeout.count() << " ms; its log:\n"
                      << child_.stderr_text() << "\nconfig:\n"
                      << yaml;
        return;
    }
    port_ = listening_port(child_.stderr_text());
    while (http_get(port_, "/-/ready", {}, std::max(deadline.remaining(), Millis(100))).status !=
           200) {
        if (deadline.expired()) {
            ADD_FAILURE() << "prometheus on port " << port_ << " not ready within "
                          << options.start_timeout.count() << " ms; its log:\n"
                          << child_.stderr_text();
            return;
        }
        (void)detail::interruptible_sleep(std::min(kPoll, deadline.remaining()));
    }
    started_ = true;
}

PrometheusServer::~PrometheusServer() {
    if (::testing::Test::HasFailure() && child_.pid() > 0) {
        std::fprintf(stderr, "[prometheus] log (pid %d):\n%s\n", static_cast<int>(child_.pid()),
                     child_.stderr_text().c_str());
    }
    child_.kill_and_reap();
}

std::string PrometheusServer::get(std::string_view target, Millis timeout) const {
    const Response response = http_get(port_, target, {}, timeout);
    return response.complete && response.status == 200 ? response.body : std::string();
}

PromQueryResult PrometheusServer::query(std::string_view promql, std::string_view time,
                                        Millis timeout) const {
    std::string target = "/api/v1/query?query=" + url_encode(promql);
    if (!time.empty()) {
        target += "&time=" + url_encode(time);
    }
    const Response response = http_get(port_, target, {}, timeout);
    if (!response.complete) {
        PromQueryResult failed;
        failed.error = "no answer from prometheus: " + response.summary();
        return failed;
    }
    return parse_query_answer(response.body); // 400/422 answers carry the error in JSON too
}

std::optional<PromSample> PrometheusServer::query_one(std::string_view promql,
                                                      std::string_view time) const {
    PromQueryResult result = query(promql, time);
    if (!result.ok || result.samples.size() != 1) {
        return std::nullopt;
    }
    return std::move(result.samples.front());
}

std::optional<PromSample> PrometheusServer::wait_for_value(std::string_view promql, double at_least,
                                                           Millis timeout) const {
    const Deadline deadline(timeout);
    for (;;) {
        std::optional<PromSample> sample = query_one(promql);
        if (sample && sample->value >= at_least) {
            return sample;
        }
        if (deadline.expired()) {
            ADD_FAILURE() << "waited " << timeout.count() << " ms for prometheus to have " << promql
                          << " >= " << at_least << "; last: "
                          << (sample ? std::to_string(sample->value) : query(promql).body);
            return std::nullopt;
        }
        (void)detail::interruptible_sleep(std::min(kPoll, deadline.remaining()));
    }
}

std::string ToolRun::summary() const {
    return "exit code " + std::to_string(exit_code) + "\nstdout:\n" + stdout_text + "\nstderr:\n" +
           stderr_text;
}

ToolRun run_tool(const std::string& binary, const std::vector<std::string>& args, Millis timeout) {
    TempDir dir("lacquer-tool");
    ProgramRun run = run_to_exit(binary, args, dir.path(), timeout);
    return ToolRun{run.exit_code, std::move(run.stdout_text), std::move(run.stderr_text)};
}

std::string url_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
            (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        }
    }
    return out;
}

std::int64_t unix_millis(std::string_view seconds) {
    const std::size_t dot = seconds.find('.');
    const std::string_view whole = seconds.substr(0, dot);
    std::string fraction(dot == std::string_view::npos ? "" : seconds.substr(dot + 1));
    if (fraction.size() > 3) {
        return -1; // Prometheus timestamps have millisecond resolution
    }
    fraction.resize(3, '0');
    std::int64_t s = 0;
    std::int64_t ms = 0;
    if (std::from_chars(whole.data(), whole.data() + whole.size(), s).ec != std::errc() ||
        std::from_chars(fraction.data(), fraction.data() + fraction.size(), ms).ec != std::errc()) {
        return -1;
    }
    return s * 1000 + ms;
}

} // namespace lacquer::test
