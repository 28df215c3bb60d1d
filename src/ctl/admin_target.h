#pragma once
// Where lacquerctl sends its requests and with which token: the command line first, then the
// `admin` section of lacquerd's config (read with the project's own loader), then CONFIG.md's
// defaults. Reads files only; never connects.

#include "ctl/admin_client.h"
#include "ctl/command_line.h"
#include "lacquer/config/config.h"

#include <optional>
#include <string>

namespace lacquer::ctl {

struct AdminTarget {
    Endpoint endpoint;
    std::string token; // empty: no Authorization header
    // Said after a 401 or a failed connect: where the address came from, why no token was
    // sent. Empty when there is nothing useful to add.
    std::string token_note;
    std::string address_note;
};

struct ResolvedTarget {
    std::optional<AdminTarget> target; // nullopt: `error` is a usage error (exit status 2)
    std::string error;
};

// --config must load when written; the default config is used only when it can be read (a
// missing or unreadable /etc/lacquer/lacquer.yaml means the defaults), but an invalid one is an
// error, not silently ignored.
ResolvedTarget resolve_target(const Invocation& invocation);

// Where a listen address is reached from this host: a wildcard on the loopback of its family.
Endpoint reachable(const config::HostPort& address);

// The token as lacquerd reads it: the file's content without surrounding white space. nullopt
// (and `error`) when the file cannot be read, is empty, or holds a line break inside.
std::optional<std::string> read_token_file(const std::string& path, std::string& error);

} // namespace lacquer::ctl
