#pragma once
// The ordered routes of a config, compiled once when the config loads (regexes built, origin
// names turned into pool indexes), and the pure decision "which route serves this request".

#include "lacquer/config/config.h"

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::proxy {

struct Route {
    std::string name;
    std::size_t pool = 0; // index into the config's origins
    bool pass = true;
    bool reject = false; // default_route: reject -> 404
    // Match
    std::string host;        // empty: any; "*.x.com" matches subdomains of x.com
    std::string path_prefix; // empty: any
    std::unique_ptr<std::regex> path_regex;
    std::vector<std::string> methods; // empty: any
};

class RouteTable {
public:
    // Throws config::ConfigError for what only compiling reveals.
    explicit RouteTable(const config::Config& config);

    // First matching route, else the default route. `host` without port, lower case or not.
    const Route& match(std::string_view host, std::string_view path, std::string_view method) const;
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
    Route default_;
};

// "Host: a.example.com:8080" -> "a.example.com"; "[::1]:80" -> "[::1]".
std::string_view host_without_port(std::string_view host);

} // namespace lacquer::proxy
