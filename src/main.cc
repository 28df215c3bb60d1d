// lacquerd: parse the command line and hand over to the server. Exit codes: 0 fine, 1 could not
// start (e.g. a port in use), 2 invalid config, 64 bad command line.
#include "lacquer/config/load.h"
#include "lacquer/server/server.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#ifndef LACQUER_VERSION
#define LACQUER_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kDefaultConfig = "/etc/lacquer/lacquer.yaml";

void print_help() {
    std::printf("usage: lacquerd [--config FILE] [--check-config] [--version] [--help]\n"
                "  --config FILE     the YAML config to run (default %s)\n"
                "  --check-config    validate the config and exit: 0 valid, 2 invalid\n"
                "  --version         print the version and exit\n"
                "  --help            print this help and exit\n",
                kDefaultConfig);
}

} // namespace

int main(int argc, char** argv) {
    std::string config_path = kDefaultConfig;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg.rfind("--config=", 0) == 0) {
            config_path = arg.substr(9);
        } else if (arg == "--check-config") {
            check_only = true;
        } else if (arg == "--version") {
            std::printf("lacquerd %s\n", LACQUER_VERSION);
            return 0;
        } else if (arg == "--help" || arg == "-h") {
            print_help();
            return 0;
        } else {
            std::fprintf(stderr, "lacquerd: unknown argument '%s' (see --help)\n", arg.c_str());
            return 64;
        }
    }

    lacquer::config::Config config;
    try {
        config = lacquer::config::load_config_file(config_path);
        lacquer::server::check_config(config);
    } catch (const lacquer::config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    if (check_only) {
        std::printf("%s: configuration is valid\n", config_path.c_str());
        return 0;
    }

    lacquer::server::block_handled_signals();
    try {
        lacquer::server::Server server(std::move(config), config_path);
        server.start(std::cout);
        return server.wait_for_signals();
    } catch (const lacquer::config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lacquerd: %s\n", e.what());
        return 1;
    }
}
