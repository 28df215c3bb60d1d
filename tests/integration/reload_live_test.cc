// Everything reloads, and reloads answer (issue 21): `workers` up and down, the admin listener
// moved to a new port and the access log moved to another file and format, each under a client
// loop with no failed request; POST /reload and `lacquerctl reload` with a good and a broken
// file (exit statuses, FILE:LINE:COL); the systemd unit's ExecReload command line run as it is
// against a real lacquerd; `lacquerctl config` printing a config that loads again into the same
// effective config. Real lacquerd, real lacquerctl, scripted origin.
#include "cache_test_support.h"
#include "lacquer/config/load.h"
#include "lacquer/config/write_config.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/metrics_scrape.h"
#include "support/scripted_origin.h"
#include "support/socket_io.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <vector>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const HeaderFields kApi{{"Host", "api.test"}};

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
default_route: reject
)";

std::string lacquerctl_binary() {
    if (const char* env = std::getenv("LACQUERCTL"); env != nullptr && *env != '\0') {
        return env;
    }
    return LACQUERCTL_BIN;
}

ProgramRun lacquerctl(const std::vector<std::string>& args) {
    TempDir dir("reload-ctl-run");
    return run_to_exit(lacquerctl_binary(), args, dir.path(), 15s);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A loopback port nobody listens on now (bound, then closed).
std::uint16_t free_port() {
    std::uint16_t port = 0;
    std::string error;
    UniqueFd fd = listen_loopback(port, error);
    EXPECT_TRUE(fd.valid()) << error;
    return port;
}

// One GET per connection (Connection: close) until stopped, each on a fresh accept, so that the
// listening sockets are exercised all the time; counts what is not a complete 200.
// Bounded: at most 20 s.
class ClientLoop {
public:
    explicit ClientLoop(std::uint16_t port) : thread_([this, port] { run(port); }) {}
    ~ClientLoop() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int ok() const { return ok_; }
    int failed() const { return failed_; }
    std::string first_failure() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return first_failure_;
    }
    // Waits until `more` answers came after now.
    [[nodiscard]] bool wait_more(int more) const {
        const int target = ok_ + more;
        return eventually(5s, [&] { return ok_ >= target; });
    }

private:
    void run(std::uint16_t port) {
        const auto end = std::chrono::steady_clock::now() + 20s;
        while (!stop_ && std::chrono::steady_clock::now() < end) {
            HttpClient client;
            if (!client.connect(port)) {
                record_failure("connect: " + client.last_error());
                continue;
            }
            const Response r =
                client.get("/c/item", {{"Host", "api.test"}, {"Connection", "close"}}, 5s);
            if (r.complete && r.status == 200) {
                ++ok_;
            } else {
                record_failure(r.summary());
            }
        }
    }
    void record_failure(const std::string& what) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failed_++ == 0) {
            first_failure_ = what;
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<int> ok_{0};
    std::atomic<int> failed_{0};
    mutable std::mutex mutex_;
    std::string first_failure_;
    std::thread thread_;
};

// The listening sockets of `port` (LISTEN rows of /proc/net/tcp and tcp6: one per socket of the
// SO_REUSEPORT group) and how many descriptors of process `pid` refer to them (a socket held
// twice, as an adopted duplicate beside its own, counts twice).
struct ListenCount {
    int sockets = 0;
    int descriptors = 0;
    bool operator==(const ListenCount&) const = default;
};
std::string describe(const ListenCount& c) {
    return std::to_string(c.sockets) + " sockets, " + std::to_string(c.descriptors) + " fds";
}
int descriptors_of(pid_t pid, const std::set<std::string>& inodes) {
    int n = 0;
    const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
    // Descriptors close while this reads (a retiring worker's): no step may throw.
    std::error_code ec;
    std::filesystem::directory_iterator it(fds, ec);
    for (int step = 0; !ec && it != std::filesystem::directory_iterator() && step < 100000;
         ++step) {
        std::error_code link_error;
        const std::string target = std::filesystem::read_symlink(it->path(), link_error).string();
        if (!link_error && target.rfind("socket:[", 0) == 0 &&
            inodes.count(target.substr(8, target.size() - 9)) > 0) {
            ++n;
        }
        it.increment(ec);
    }
    return n;
}
ListenCount listening_on(pid_t pid, std::uint16_t port) {
    std::set<std::string> inodes;
    char hex_port[8];
    std::snprintf(hex_port, sizeof hex_port, ":%04X", port);
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line); // the column names
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
            fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
                timeout >> inode;
            if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == hex_port) {
                inodes.insert(inode);
            }
        }
    }
    return {static_cast<int>(inodes.size()), descriptors_of(pid, inodes)};
}
// How many descriptors of `pid` refer to the listening Unix socket bound at `path`.
int unix_listeners_of(pid_t pid, const std::string& path) {
    std::set<std::string> inodes;
    std::ifstream in("/proc/net/unix");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string num, refs, protocol, flags, type, state, inode, bound;
        fields >> num >> refs >> protocol >> flags >> type >> state >> inode >> bound;
        if (bound == path && flags == "00010000") { // __SO_ACCEPTCON: listening
            inodes.insert(inode);
        }
    }
    return descriptors_of(pid, inodes);
}

class LiveReload : public ::testing::Test {
protected:
    void SetUp() override {
        origin_.on_get("/c/item", [](OriginExchange& x) {
            x.respond(200, {{"Cache-Control", "max-age=600"}}, "item");
        });
        token_file_ = dir_.write_file("admin.token", "s3cret-token\n").string();
    }
    TestConfig config(int workers, const std::string& admin = "127.0.0.1:0") const {
        return caching_config(origin_, kRoutes)
            .workers(workers)
            .extra("admin:\n  address: " + admin + "\n  token_file: " + token_file_ + "\n");
    }
    void start(const TestConfig& c) {
        proxy_ = std::make_unique<LacquerProcess>(c);
        ASSERT_TRUE(proxy_->started());
        ASSERT_NE(proxy_->admin_port(), 0);
        ASSERT_EQ(proxy_->get("/c/item", kApi).header("Cache-Status"), kStored);
    }
    // POST /reload on the admin port, with the token.
    Response post_reload(std::uint16_t admin_port) const {
        HttpClient client;
        EXPECT_TRUE(client.connect(admin_port)) << client.last_error();
        return client.request("POST", "/reload", {{"Authorization", "Bearer s3cret-token"}}, {},
                              15s);
    }
    std::vector<std::string> ctl_target(std::uint16_t admin_port) const {
        return {"--admin", "127.0.0.1:" + std::to_string(admin_port), "--token-file", token_file_};
    }

    ScriptedOrigin origin_;
    TempDir dir_{"reload-live"};
    std::string token_file_;
    std::unique_ptr<LacquerProcess> proxy_;
};

TEST_F(LiveReload, WorkersGoUpAndDownUnderTrafficWithNoFailedRequestAndCountersKept) {
    start(config(2));
    const std::uint16_t admin = proxy_->admin_port();
    ClientLoop loop(proxy_->port());
    ASSERT_TRUE(loop.wait_more(30)) << loop.first_failure();

    proxy_->rewrite_config(config(4));
    Response r = post_reload(admin);
    EXPECT_EQ(r.status, 200) << r.summary();
    EXPECT_EQ(r.body, "applied generation 2\n");
    EXPECT_TRUE(proxy_->wait_for_stderr("worker threads 2 -> 4", 5s)) << proxy_->stderr_text();
    EXPECT_EQ(scrape_metric(admin, "lacquer_workers").value_or(-1), 4);
    ASSERT_TRUE(loop.wait_more(60)) << loop.first_failure();
    const double before = scrape_metric(admin, "lacquer_requests_total").value_or(-1);

    proxy_->rewrite_config(config(1));
    r = post_reload(admin);
    EXPECT_EQ(r.status, 200) << r.summary();
    EXPECT_EQ(r.body, "applied generation 3\n");
    EXPECT_TRUE(proxy_->wait_for_stderr("worker threads 4 -> 1", 5s)) << proxy_->stderr_text();
    ASSERT_TRUE(loop.wait_more(60)) << loop.first_failure();
    // The removed workers' counts stay in the totals: a counter never goes down.
    const double after = scrape_metric(admin, "lacquer_requests_total").value_or(-1);
    EXPECT_GE(after, before + 60);
    EXPECT_EQ(scrape_metric(admin, "lacquer_workers").value_or(-1), 1);

    proxy_->rewrite_config(config(3)); // up again: indices of ended workers are reused
    ASSERT_TRUE(proxy_->send_signal(SIGHUP));
    ASSERT_TRUE(proxy_->wait_for_stderr("worker threads 1 -> 3", 5s)) << proxy_->stderr_text();
    ASSERT_TRUE(loop.wait_more(60)) << loop.first_failure();
    loop.stop();
    EXPECT_EQ(loop.failed(), 0) << loop.first_failure();
    EXPECT_GE(scrape_metric(admin, "lacquer_requests_total").value_or(-1), after + 60);
    EXPECT_EQ(origin_.count("/c/item"), 1u); // the cache stayed through every change
}

TEST_F(LiveReload, TheAdminListenerMovesToANewPortAndTheRequestThatAskedIsAnswered) {
    start(config(2));
    const std::uint16_t old_admin = proxy_->admin_port();
    ClientLoop loop(proxy_->port());
    ASSERT_TRUE(loop.wait_more(20)) << loop.first_failure();

    const std::uint16_t new_admin = free_port();
    proxy_->rewrite_config(config(2, "127.0.0.1:" + std::to_string(new_admin)));
    // Asked on the old listener: answered there, then that listener goes.
    const Response r = post_reload(old_admin);
    EXPECT_EQ(r.status, 200) << r.summary();
    EXPECT_EQ(r.body, "applied generation 2\n");
    EXPECT_TRUE(proxy_->wait_for_stdout(
        "admin listening on 127.0.0.1:" + std::to_string(new_admin) + "\n", 5s));
    EXPECT_EQ(http_get(new_admin, "/healthz").status, 200);
    EXPECT_TRUE(eventually(5s, [&] {
        HttpClient c;
        return !c.connect(old_admin, 1s); // refused once its request was answered
    }));
    // The token still guards the new listener.
    HttpClient anonymous;
    ASSERT_TRUE(anonymous.connect(new_admin));
    EXPECT_EQ(anonymous.request("POST", "/reload").status, 401);
    ASSERT_TRUE(loop.wait_more(20)) << loop.first_failure();
    loop.stop();
    EXPECT_EQ(loop.failed(), 0) << loop.first_failure();
}

TEST_F(LiveReload, TheAccessLogMovesToAnotherFileAndFormatWithNoFailedRequest) {
    const std::string first = (dir_.path() / "first.log").string();
    const std::string second = (dir_.path() / "second.log").string();
    start(config(2).access_log(first + ", format: combined"));
    ClientLoop loop(proxy_->port());
    ASSERT_TRUE(loop.wait_more(20)) << loop.first_failure();

    proxy_->rewrite_config(config(2).access_log(second + ", format: json"));
    const Response r = post_reload(proxy_->admin_port());
    EXPECT_EQ(r.status, 200) << r.summary();
    ASSERT_TRUE(loop.wait_more(30)) << loop.first_failure();
    loop.stop();
    EXPECT_EQ(loop.failed(), 0) << loop.first_failure();
    ASSERT_TRUE(eventually(5s, [&] { return read_file(second).find('\n') != std::string::npos; }));
    const std::string before = read_file(first);
    const std::string after = read_file(second);
    EXPECT_THAT(before, HasSubstr("\"GET /c/item HTTP/1.1\" 200"));
    EXPECT_THAT(before, Not(HasSubstr("{\"")));
    EXPECT_THAT(after, StartsWith("{"));
    EXPECT_THAT(after, HasSubstr("\"/c/item\""));
    EXPECT_THAT(after, Not(HasSubstr("\"GET /c/item HTTP/1.1\"")));
}

TEST_F(LiveReload, LacquerctlReloadPrintsTheGenerationOrTheRefusalWithItsPosition) {
    start(config(2));
    const std::vector<std::string> target = ctl_target(proxy_->admin_port());
    std::vector<std::string> args = target;
    args.push_back("reload");

    proxy_->rewrite_config(config(2).limit("max_uri_bytes", "4KiB"));
    ProgramRun run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "applied generation 2\n");

    // A file lacquerd refuses: the running config stays, the answer says where.
    proxy_->rewrite_config(config(2).storage("eviction", "clock"));
    run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
    EXPECT_THAT(run.stderr_text, StartsWith("refused: " + proxy_->config_path().string() + ":"));
    EXPECT_THAT(run.stderr_text, HasSubstr("`storage.eviction`"));
    EXPECT_TRUE(proxy_->wait_for_stderr("reload refused", 5s)) << proxy_->stderr_text();

    proxy_->rewrite_config(config(2).extra("routes: oops\n"));
    run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
    EXPECT_THAT(run.stderr_text, StartsWith("refused: " + proxy_->config_path().string() + ":"));
    EXPECT_EQ(proxy_->get("/c/item", kApi).header("Cache-Status"), kHit);

    // An admin address that cannot be bound (the client port holds it) is refused at its
    // setting; an access log that cannot be opened too.
    proxy_->rewrite_config(config(2, proxy_->address()));
    run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
    EXPECT_THAT(run.stderr_text, HasSubstr(proxy_->config_path().string() + ":"));
    EXPECT_THAT(run.stderr_text, HasSubstr("admin"));
    proxy_->rewrite_config(config(2).access_log("/nonexistent-dir/x.log"));
    run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
    EXPECT_THAT(run.stderr_text, HasSubstr("log: "));

    std::vector<std::string> usage = target;
    usage.insert(usage.end(), {"reload", "extra"});
    EXPECT_EQ(lacquerctl(usage).exit_code, 2);
    EXPECT_TRUE(proxy_->wait_for_metric("lacquer_config_reloads_total", 4, 2s, "failure"));
}

// packaging/systemd/lacquer.service's ExecReload, word for word, with the installed paths
// mapped to this build's lacquerctl and a test config (whose admin port is fixed: lacquerctl
// reads it from the file, as on a real host).
TEST_F(LiveReload, TheUnitsExecReloadLineReloadsARealLacquerdAndFailsWhenRefused) {
    const std::string unit = read_file(LACQUER_SOURCE_DIR "/packaging/systemd/lacquer.service");
    std::vector<std::string> words;
    std::istringstream lines(unit);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("ExecReload=")) {
            ASSERT_TRUE(words.empty()) << "one ExecReload line: " << line;
            std::istringstream split(line.substr(11));
            for (std::string word; split >> word;) {
                words.push_back(word);
            }
        }
    }
    ASSERT_GE(words.size(), 2u);
    ASSERT_EQ(words[0], "/usr/bin/lacquerctl");
    ASSERT_EQ(words[1], "reload");
    const std::uint16_t admin = free_port();
    start(config(2, "127.0.0.1:" + std::to_string(admin)));
    std::vector<std::string> args;
    for (std::size_t i = 1; i < words.size(); ++i) {
        args.push_back(words[i] == "/etc/lacquer/lacquer.yaml" ? proxy_->config_path().string()
                                                               : words[i]);
    }
    proxy_->rewrite_config(config(3, "127.0.0.1:" + std::to_string(admin)));
    ProgramRun run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "applied generation 2\n");
    EXPECT_EQ(scrape_metric(admin, "lacquer_workers").value_or(-1), 3);

    proxy_->rewrite_config(
        config(3, "127.0.0.1:" + std::to_string(admin)).storage("eviction", "clock"));
    run = lacquerctl(args);
    EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
    EXPECT_THAT(run.stderr_text, HasSubstr(proxy_->config_path().string() + ":"));
}

TEST_F(LiveReload, LacquerctlConfigPrintsAConfigThatLoadsIntoTheSameEffectiveConfig) {
    start(config(2)
              .extra("variants:\n  locale:\n    sources: [query:locale]\n    values: [en, de]\n"
                     "    default: en\n")
              .origin_setting("health: { path: /healthz, interval: 5s }")
              .origin_setting("retry_budget: 30%"));
    std::vector<std::string> args = ctl_target(proxy_->admin_port());
    args.push_back("config");
    const ProgramRun run = lacquerctl(args);
    ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
    const std::string& printed = run.stdout_text;
    EXPECT_THAT(printed, HasSubstr("workers: 2\n"));
    EXPECT_THAT(printed, HasSubstr("drain_timeout: 10s\n")); // a default, filled in
    EXPECT_THAT(printed, HasSubstr("retry_budget: 30%\n"));
    EXPECT_THAT(printed, HasSubstr(token_file_));         // the token's file is named,
    EXPECT_THAT(printed, Not(HasSubstr("s3cret-token"))); // its content never

    const LacquerProcess::CheckResult check = LacquerProcess::run_check_config(printed);
    EXPECT_EQ(check.exit_code, 0) << check.stderr_text << printed;
    // Loaded again, it is the same effective config: it prints the same.
    const config::Config again = config::load_config_string(printed, "printed.yaml");
    const std::string reprinted = config::write_config_yaml(again);
    const auto body = [](const std::string& text) { return text.substr(text.find("\nworkers")); };
    EXPECT_EQ(body(reprinted), body(printed));

    // Without the token: refused.
    const ProgramRun anonymous =
        lacquerctl({"--admin", "127.0.0.1:" + std::to_string(proxy_->admin_port()), "config"});
    EXPECT_EQ(anonymous.exit_code, 1);
    EXPECT_THAT(anonymous.stderr_text, HasSubstr("401"));
}

TEST_F(LiveReload, ShrinkingThenGrowingTakesAdoptedSocketsBackInsteadOfOpeningMore) {
    start(config(2));
    const std::uint16_t admin = proxy_->admin_port();
    const std::uint16_t port = proxy_->port();
    ClientLoop loop(port);
    ASSERT_TRUE(loop.wait_more(20)) << loop.first_failure();
    EXPECT_EQ(listening_on(proxy_->pid(), port), (ListenCount{2, 2}));
    // The group never has more sockets than the most workers there were (4): a removed worker's
    // socket stays in it (its backlog is served by a worker that stays), and a worker added
    // later takes such a socket back before any new one is opened. Before, 1 -> 3 opened two
    // more (6) and every shrink-then-grow cycle added to the group until a restart.
    int generation = 1;
    for (const auto& step : std::vector<std::pair<int, ListenCount>>{
             {4, {4, 4}}, {1, {4, 4}}, {3, {4, 4}}, {2, {4, 4}}, {4, {4, 4}}, {5, {5, 5}}}) {
        const int workers = step.first;
        const ListenCount want = step.second;
        proxy_->rewrite_config(config(workers));
        const Response r = post_reload(admin);
        ASSERT_EQ(r.status, 200) << r.summary();
        ASSERT_EQ(r.body, "applied generation " + std::to_string(++generation) + "\n");
        ListenCount now;
        EXPECT_TRUE(eventually(5s,
                               [&] {
                                   now = listening_on(proxy_->pid(), port);
                                   return now == want;
                               }))
            << workers << " workers: " << describe(now) << ", want " << describe(want);
        ASSERT_TRUE(loop.wait_more(20)) << loop.first_failure();
    }
    loop.stop();
    EXPECT_EQ(loop.failed(), 0) << loop.first_failure();
    EXPECT_EQ(origin_.count("/c/item"), 1u);
}

TEST_F(LiveReload, WorkersAddedByAReloadAcceptOnAUnixListenerToo) {
    const std::string path = (dir_.path() / "http.sock").string();
    const auto yaml = [&](int workers) {
        return "workers: " + std::to_string(workers) +
               "\nlisten:\n  - address: 127.0.0.1:0\n  - address: unix:" + path +
               "\nadmin: { address: 127.0.0.1:0 }\nlog: { access: off }\norigins:\n  api:\n"
               "    servers:\n      - address: " +
               origin_.address() + "\n" + std::string(kRoutes);
    };
    LacquerProcess lacquer(yaml(1)); // waits for the TCP listener's line
    ASSERT_TRUE(lacquer.started()) << lacquer.stderr_text();
    const auto get_over_unix = [&] {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            return std::string("connect failed");
        }
        const Deadline deadline(5s);
        if (send_all(fd.get(),
                     "GET /c/item HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
                     deadline) != IoStatus::Ok) {
            return std::string("send failed");
        }
        std::string got;
        while (read_some(fd.get(), got, deadline) == IoStatus::Ok) {
        }
        return got;
    };
    EXPECT_THAT(get_over_unix(), StartsWith("HTTP/1.1 200"));
    EXPECT_EQ(unix_listeners_of(lacquer.pid(), path), 1);
    int generation = 1;
    for (const int workers : {3, 1, 2}) {
        lacquer.rewrite_config(yaml(workers));
        ASSERT_TRUE(lacquer.send_signal(SIGHUP));
        ASSERT_TRUE(
            lacquer.wait_for_stderr("(generation " + std::to_string(++generation) + ",", 5s))
            << lacquer.stderr_text();
        // One descriptor of the one socket per worker: every worker accepts on it.
        EXPECT_TRUE(
            eventually(5s, [&] { return unix_listeners_of(lacquer.pid(), path) == workers; }))
            << workers << " workers, " << unix_listeners_of(lacquer.pid(), path) << " fds";
        for (int i = 0; i < 10; ++i) {
            EXPECT_THAT(get_over_unix(), StartsWith("HTTP/1.1 200")) << workers << " workers";
        }
    }
}

TEST_F(LiveReload, LacquerctlReloadThatMovesTheAdminListenerSaysWhereItIsNow) {
    start(config(2));
    const std::uint16_t old_admin = proxy_->admin_port();
    const std::uint16_t new_admin = free_port();
    const std::string file = proxy_->config_path().string();
    proxy_->rewrite_config(config(2, "127.0.0.1:" + std::to_string(new_admin)));
    // The file's address is not listening yet: lacquerctl says how to reach the running one.
    ProgramRun run = lacquerctl({"--config", file, "--token-file", token_file_, "reload"});
    EXPECT_EQ(run.exit_code, 3) << run.stderr_text; // Unreachable
    EXPECT_THAT(run.stderr_text, HasSubstr("pass it with --admin HOST:PORT"));
    // Asked on the old address: applied, and the new one is said.
    run = lacquerctl({"--config", file, "--admin", "127.0.0.1:" + std::to_string(old_admin),
                      "--token-file", token_file_, "reload"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(
        run.stdout_text,
        "applied generation 2\nthe admin listener moved to 127.0.0.1:" + std::to_string(new_admin) +
            " (" + file + "): later commands with --config " + file +
            " find it there; drop --admin 127.0.0.1:" + std::to_string(old_admin) + "\n");
    // And so they do.
    run = lacquerctl({"--config", file, "--token-file", token_file_, "config"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    // A reload that keeps the address says nothing more.
    run = lacquerctl({"--config", file, "--admin", "127.0.0.1:" + std::to_string(new_admin),
                      "--token-file", token_file_, "reload"});
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_EQ(run.stdout_text, "applied generation 3\n");
}

} // namespace
} // namespace lacquer::test
