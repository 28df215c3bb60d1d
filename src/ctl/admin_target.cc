// The admin address and token from the command line, the config file or the defaults.
#include "ctl/admin_target.h"

#include "lacquer/config/load.h"
#include "lacquer/core/errno_text.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace lacquer::ctl {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

} // namespace

Endpoint reachable(const config::HostPort& address) {
    if (address.host.empty() || address.host == "0.0.0.0") {
        return Endpoint{"127.0.0.1", address.port};
    }
    if (address.host == "::") {
        return Endpoint{"::1", address.port};
    }
    return Endpoint{address.host, address.port};
}

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read token file '" + path + "': " + core::errno_text(errno);
        return std::nullopt;
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t begin = 0;
    std::size_t end = token.size();
    while (begin < end && is_space(token[begin])) {
        ++begin;
    }
    while (end > begin && is_space(token[end - 1])) {
        --end;
    }
    token = token.substr(begin, end - begin);
    if (token.empty()) {
        error = "token file '" + path + "' is empty";
        return std::nullopt;
    }
    for (const char c : token) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            error = "token file '" + path + "' holds more than one line";
            return std::nullopt;
        }
    }
    return token;
}

ResolvedTarget resolve_target(const Invocation& inv) {
    ResolvedTarget out;
    AdminTarget target;
    std::optional<config::Config> config;
    const bool wants_config = inv.admin.empty() || inv.token_file.empty();
    if (wants_config && (inv.config_given || ::access(inv.config_path.c_str(), R_OK) == 0)) {
        try {
            config = config::load_config_file(inv.config_path);
        } catch (const std::exception& e) {
            out.error = std::string(e.what()) + " (or pass --admin and --token-file)";
            return out;
        }
    }

    if (!inv.admin.empty()) {
        const std::optional<Endpoint> endpoint = parse_endpoint(inv.admin);
        if (!endpoint) {
            out.error = "--admin '" + inv.admin + "': HOST:PORT or [IPV6]:PORT";
            return out;
        }
        target.endpoint = *endpoint;
    } else if (config) {
        target.endpoint = reachable(config->admin.address);
        if (!config->admin.present) {
            target.address_note =
                inv.config_path + " has no admin section, so lacquerd runs no admin listener";
        } else if (config->admin.address.port == 0) {
            target.address_note = inv.config_path +
                                  " lets lacquerd pick the admin port: pass --admin HOST:PORT "
                                  "with the port it printed";
        }
    } else {
        target.endpoint = reachable(config::AdminConfig{}.address);
        target.address_note = "the default address (no readable " + inv.config_path +
                              "); pass --admin HOST:PORT or --config FILE";
    }

    if (!inv.token_file.empty()) {
        std::string error;
        const std::optional<std::string> token = read_token_file(inv.token_file, error);
        if (!token) {
            out.error = error;
            return out;
        }
        target.token = *token;
    } else if (config && !config->admin.token_file.empty()) {
        std::string error;
        target.token = read_token_file(config->admin.token_file, error).value_or("");
        if (target.token.empty()) {
            target.token_note = "admin.token_file of " + inv.config_path + ": " + error +
                                "; pass --token-file, or run as a user that can read it";
        }
    } else {
        target.token_note = "no token was sent: pass --token-file FILE";
    }
    out.target = std::move(target);
    return out;
}

} // namespace lacquer::ctl
