// The loopback fleet and the HAProxy in front of it (fleet_support.h).
#include "fleet_support.h"

#include "support/deadline.h"
#include "support/http_client.h"
#include "support/test_config.h"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace lacquer::test::fleet {

namespace {

constexpr std::string_view kRoutes = R"(routes:
  - name: cached
    match: { path_prefix: /c/ }
    cache: { key_params: all, ttl: 60s }
  - name: listed
    match: { path_prefix: /l/ }
    cache: { key_params: [limit, offset], unknown_params: strip, ttl: 60s }
default_route: reject
)";

std::string from_env_or(const char* name, std::string_view fallback) {
    if (const char* env = std::getenv(name); env != nullptr && *env != '\0') {
        return env;
    }
    return std::string(fallback);
}

void replace_once(std::string& text, std::string_view from, std::string_view to) {
    const std::size_t at = text.find(from);
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
}

std::string first_word(std::string_view line) {
    const std::size_t begin = line.find_first_not_of(" \t");
    if (begin == std::string_view::npos) {
        return {};
    }
    const std::size_t end = line.find_first_of(" \t", begin);
    return std::string(line.substr(begin, end == std::string_view::npos ? end : end - begin));
}

// `default-server ... inter 2s fastinter 500ms downinter 1s ...` with every timing set to `to`.
std::string with_check_timings(const std::string& line, const std::string& to) {
    std::istringstream words(line);
    std::string out = "    ";
    std::string word;
    bool replace_next = false;
    while (words >> word) {
        out += (out.size() > 4 ? " " : "") + (replace_next ? to : word);
        replace_next = word == "inter" || word == "fastinter" || word == "downinter";
    }
    return out;
}

bool set_inheritable(int fd, bool inheritable) {
    const int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 &&
           ::fcntl(fd, F_SETFD, inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC) == 0;
}

} // namespace

std::string server_name(std::size_t i) {
    return "lacquer" + std::to_string(i + 1);
}

LacquerFleet::LacquerFleet(std::size_t nodes) {
    if (!origin_.started()) {
        return;
    }
    for (std::size_t i = 0; i < nodes; ++i) {
        nodes_.push_back(std::make_unique<LacquerProcess>(yaml_on(0, 0)));
        ports_.push_back(nodes_.back()->started() ? nodes_.back()->port() : 0);
        admin_ports_.push_back(nodes_.back()->admin_port());
    }
}

std::string LacquerFleet::yaml_on(std::uint16_t port, std::uint16_t admin_port) const {
    std::string yaml = TestConfig()
                           .workers(1)
                           .admin()
                           .origin(origin_.address())
                           .storage("memory", "64MiB")
                           .limit("drain_timeout", "2s")
                           .extra(std::string(kRoutes))
                           .yaml();
    replace_once(yaml, "listen:\n  - address: 127.0.0.1:0\n",
                 "listen:\n  - address: 127.0.0.1:" + std::to_string(port) + "\n");
    replace_once(yaml, "admin:\n  address: 127.0.0.1:0\n",
                 "admin:\n  address: 127.0.0.1:" + std::to_string(admin_port) + "\n");
    return yaml;
}

bool LacquerFleet::started() const {
    if (!origin_.started() || nodes_.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i]->started() || admin_ports_[i] == 0) {
            return false;
        }
    }
    return true;
}

std::string LacquerFleet::admin_address(std::size_t i) const {
    return "127.0.0.1:" + std::to_string(admin_ports_[i]);
}

bool LacquerFleet::stop(std::size_t i) {
    return nodes_[i]->send_signal(SIGTERM) && nodes_[i]->wait_exit(5s).has_value();
}

bool LacquerFleet::restart(std::size_t i) {
    nodes_[i].reset();
    nodes_[i] = std::make_unique<LacquerProcess>(yaml_on(ports_[i], admin_ports_[i]));
    return nodes_[i]->started() && nodes_[i]->port() == ports_[i] &&
           nodes_[i]->admin_port() == admin_ports_[i];
}

std::string haproxy_binary() {
    const std::string binary = from_env_or("LACQUER_HAPROXY", LACQUER_HAPROXY_BIN);
    return !binary.empty() && ::access(binary.c_str(), X_OK) == 0 ? binary : "";
}

std::string packaged_haproxy_config() {
    return from_env_or("LACQUER_SOURCE_DIR", LACQUER_SOURCE_DIR_BUILT) +
           "/packaging/haproxy/lacquer-fleet.cfg";
}

std::optional<std::string> haproxy_config_for(const std::string& packaged,
                                              const HaproxyPorts& ports, const LacquerFleet& fleet,
                                              const std::string& check_interval,
                                              const std::string& balance, std::string& error) {
    std::istringstream in(packaged);
    std::string out;
    std::string section;
    std::string line;
    int binds = 0;
    int timings = 0;
    bool servers_written = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ' ' && line[0] != '#') {
            section = line;
            out += line + "\n";
            if (section == "backend lacquer_fleet") {
                out += "    http-response set-header X-Lacquer-Node %s\n";
            }
            continue;
        }
        const std::string word = first_word(line);
        if (word == "bind" && section == "frontend lacquer_clients") {
            out += "    bind " + ports.client_bind + "\n";
            ++binds;
        } else if (word == "bind" && section == "listen lacquer_stats") {
            out += "    bind " + ports.stats_bind + "\n";
            ++binds;
        } else if (word == "balance" && section == "backend lacquer_fleet" && !balance.empty()) {
            out += balance;
        } else if (word == "default-server" && section == "backend lacquer_fleet") {
            out += with_check_timings(line, check_interval) + "\n";
            ++timings;
        } else if (word == "server" && section == "backend lacquer_fleet") {
            for (std::size_t i = 0; !servers_written && i < fleet.size(); ++i) {
                out += "    server " + server_name(i) +
                       " 127.0.0.1:" + std::to_string(fleet.port(i)) + " check port " +
                       std::to_string(fleet.admin_port(i)) + "\n";
            }
            servers_written = true;
        } else {
            out += line + "\n";
        }
    }
    if (binds != 2 || timings != 1 || !servers_written) {
        error = "the packaged config lost its shape: " + std::to_string(binds) +
                " of 2 binds (frontend lacquer_clients, listen lacquer_stats), " +
                std::to_string(timings) + " of 1 default-server line, " +
                (servers_written ? "" : "no ") + "server lines in backend lacquer_fleet";
        return std::nullopt;
    }
    return out;
}

std::string allow_list_balance(const std::string& packaged) {
    std::istringstream in(packaged);
    std::string out;
    std::string line;
    bool in_backend = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ' ' && line[0] != '#') {
            in_backend = line == "backend lacquer_fleet";
        } else if (in_backend && line.starts_with("    #      ")) {
            out += "    " + line.substr(11) + "\n";
        }
    }
    return out;
}

std::string packaged_haproxy_text() {
    std::ifstream in(packaged_haproxy_config());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

HaproxyProcess::HaproxyProcess(const std::string& binary, const LacquerFleet& fleet,
                               const std::string& balance) {
    const std::string packaged = packaged_haproxy_text();
    if (packaged.empty()) {
        error_ = "cannot read " + packaged_haproxy_config();
        return;
    }
    UniqueFd client = listen_loopback(port_, error_);
    UniqueFd stats = client.valid() ? listen_loopback(stats_port_, error_) : UniqueFd();
    if (!stats.valid()) {
        return;
    }
    const HaproxyPorts ports{"fd@" + std::to_string(client.get()),
                             "fd@" + std::to_string(stats.get())};
    const std::optional<std::string> config =
        haproxy_config_for(packaged, ports, fleet, "100ms", balance, error_);
    if (!config) {
        return;
    }
    const std::string path = dir_.write_file("lacquer-fleet.cfg", *config).string();
    // The listening sockets go down to haproxy only: inheritable just for this one fork.
    if (!set_inheritable(client.get(), true) || !set_inheritable(stats.get(), true)) {
        error_ = "fcntl on the listening sockets failed";
        return;
    }
    const bool launched = child_.start(binary, {"-db", "-f", path}, dir_.path(), "haproxy", error_);
    set_inheritable(client.get(), false);
    set_inheritable(stats.get(), false);
    if (!launched) {
        return;
    }
    // Asks until the stats page answers; a haproxy that exited stops the wait.
    (void)eventually(5s, [&] {
        started_ = http_get(stats_port_, "/;csv", {}, 1s).status == 200;
        return started_ || !child_.is_running();
    });
    if (started_) {
        return;
    }
    error_ = "haproxy did not answer on its stats port: " + child_.stderr_text();
}

std::map<std::string, std::string> HaproxyProcess::server_states() const {
    std::map<std::string, std::string> states;
    const Response r = http_get(stats_port_, "/;csv", {}, 2s);
    std::istringstream lines(r.body);
    std::string line;
    std::size_t status_column = 0;
    while (std::getline(lines, line)) {
        std::vector<std::string> cells;
        std::istringstream row(line.starts_with("# ") ? line.substr(2) : line);
        for (std::string cell; std::getline(row, cell, ',');) {
            cells.push_back(cell);
        }
        if (line.starts_with("# ")) {
            for (std::size_t c = 0; c < cells.size(); ++c) {
                status_column = cells[c] == "status" ? c : status_column;
            }
        } else if (cells.size() > status_column && status_column > 0 &&
                   cells[0] == "lacquer_fleet" && cells[1].starts_with("lacquer")) {
            states[cells[1]] = cells[status_column];
        }
    }
    return states;
}

bool HaproxyProcess::wait_for_state(const std::string& name, const std::string& status,
                                    Millis timeout) const {
    return eventually(timeout, [&] { return server_states()[name] == status; });
}

} // namespace lacquer::test::fleet

namespace lacquer::test::fleet {

std::string HaproxyProcess::node_of(const Response& response) const {
    return response.header("X-Lacquer-Node");
}

bool HaproxyProcess::wait_out(std::size_t i, Millis timeout) {
    return wait_for_state(server_name(i), "DOWN", timeout);
}

bool HaproxyProcess::wait_in(std::size_t i, const std::string& /*probe*/, Millis timeout) {
    return wait_for_state(server_name(i), "UP", timeout);
}

std::string nginx_binary() {
    const std::string binary = from_env_or("LACQUER_NGINX", LACQUER_NGINX_BIN);
    return !binary.empty() && ::access(binary.c_str(), X_OK) == 0 ? binary : "";
}

std::string packaged_nginx_config() {
    return from_env_or("LACQUER_SOURCE_DIR", LACQUER_SOURCE_DIR_BUILT) +
           "/packaging/nginx/lacquer-fleet.conf";
}

std::optional<std::string> nginx_config_for(const std::string& packaged, std::uint16_t port,
                                            const LacquerFleet& fleet,
                                            const std::string& fail_timeout, std::string& error) {
    std::istringstream in(packaged);
    std::string out;
    std::string line;
    bool in_upstream = false;
    std::size_t servers = 0;
    int listens = 0;
    int locations = 0;
    while (std::getline(in, line)) {
        const std::string word = first_word(line);
        if (line.starts_with("upstream lacquer_fleet {")) {
            in_upstream = true;
        } else if (line.starts_with("}")) {
            in_upstream = false;
        }
        if (in_upstream && word == "server") {
            // "    server ADDRESS options...;": the address and fail_timeout are the test's.
            if (servers < fleet.size()) {
                std::istringstream words(line);
                std::string token;
                std::string rewritten = "    server";
                words >> token >> token; // "server", the packaged address
                rewritten += " 127.0.0.1:" + std::to_string(fleet.port(servers));
                while (words >> token) {
                    if (token.starts_with("fail_timeout=")) {
                        token = "fail_timeout=" + fail_timeout + (token.ends_with(";") ? ";" : "");
                    }
                    rewritten += " " + token;
                }
                out += rewritten + "\n";
            }
            ++servers;
        } else if (word == "listen") {
            out += "    listen 127.0.0.1:" + std::to_string(port) + ";\n";
            ++listens;
        } else if (word == "location" && line.find("location / {") != std::string::npos) {
            out += "    location = /__fleet_test_alive { return 204; }\n";
            out += line + "\n        add_header X-Lacquer-Node $upstream_addr always;\n";
            ++locations;
        } else {
            out += line + "\n";
        }
    }
    if (servers != fleet.size() || listens != 1 || locations != 1) {
        error = "the packaged nginx config lost its shape: " + std::to_string(servers) +
                " upstream servers for " + std::to_string(fleet.size()) + " nodes, " +
                std::to_string(listens) + " of 1 listen, " + std::to_string(locations) +
                " of 1 `location / {`";
        return std::nullopt;
    }
    return out;
}

NginxProcess::NginxProcess(const std::string& binary, const LacquerFleet& fleet) : fleet_(fleet) {
    std::ifstream in(packaged_nginx_config());
    const std::string packaged((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (packaged.empty()) {
        error_ = "cannot read " + packaged_nginx_config();
        return;
    }
    // nginx cannot be handed a bound socket, so its port is found free and then given to it; a
    // port taken in between makes it exit, and another is tried.
    for (int attempt = 0; attempt < 3 && !started_; ++attempt) {
        error_.clear();
        started_ = start_once(binary, packaged, error_);
    }
}

bool NginxProcess::start_once(const std::string& binary, const std::string& packaged,
                              std::string& error) {
    {
        const UniqueFd probe = listen_loopback(port_, error);
        if (!probe.valid()) {
            return false;
        }
    }
    const std::optional<std::string> fleet_conf =
        nginx_config_for(packaged, port_, fleet_, "1s", error);
    if (!fleet_conf) {
        return false;
    }
    const std::string dir = dir_.path().string();
    const std::string include = dir_.write_file("lacquer-fleet.conf", *fleet_conf).string();
    // One process: no worker that would outlive a killed master and keep the port.
    std::string main_conf = "daemon off;\nmaster_process off;\npid " + dir + "/nginx.pid;\n";
    main_conf += ::geteuid() == 0 ? "user root;\n" : "";
    main_conf += "error_log stderr warn;\nevents { worker_connections 512; }\nhttp {\n"
                 "    access_log off;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
        main_conf += "    " + std::string(temp) + "_temp_path " + dir + "/" + temp + ";\n";
    }
    main_conf += "    include " + include + ";\n}\n";
    const std::string conf = dir_.write_file("nginx.conf", main_conf).string();
    child_ = std::make_unique<ChildProcess>();
    if (!child_->start(binary, {"-p", dir, "-e", "stderr", "-c", conf}, dir_.path(), "nginx",
                       error)) {
        return false;
    }
    bool alive = false; // asks until nginx answers; an nginx that exited stops the wait
    (void)eventually(5s, [&] {
        alive = http_get(port_, "/__fleet_test_alive", {}, 1s).status == 204;
        return alive || !child_->is_running();
    });
    if (alive) {
        return true;
    }
    error =
        "nginx did not answer on 127.0.0.1:" + std::to_string(port_) + ": " + child_->stderr_text();
    return false;
}

std::string NginxProcess::node_of(const Response& response) const {
    // "127.0.0.1:P1, 127.0.0.1:P2" when nginx tried more than one: the last one answered.
    const std::string upstreams = response.header("X-Lacquer-Node");
    const std::string last = upstreams.substr(upstreams.rfind(' ') + 1);
    for (std::size_t i = 0; i < fleet_.size(); ++i) {
        if (last == "127.0.0.1:" + std::to_string(fleet_.port(i))) {
            return server_name(i);
        }
    }
    return {};
}

bool NginxProcess::wait_out(std::size_t /*i*/, Millis /*timeout*/) {
    return true; // a stopped node refuses connections: nginx moves on from the first request
}

bool NginxProcess::wait_in(std::size_t i, const std::string& probe, Millis timeout) {
    return eventually(timeout, [&] {
        return node_of(http_get(port_, probe, {{"Host", "api.test"}}, 2s)) == server_name(i);
    });
}

} // namespace lacquer::test::fleet
