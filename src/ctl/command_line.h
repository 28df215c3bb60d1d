#pragma once
// lacquerctl's command line: which admin request to make and how to reach the admin listener.
// Pure parsing, no I/O: what it refuses is a usage error (exit status 2).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::ctl {

inline constexpr std::string_view kDefaultConfigPath = "/etc/lacquer/lacquer.yaml";
inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};

// The exit statuses scripts rely on (--help and the man page list them).
enum class ExitStatus : int {
    Ok = 0,
    ServerError = 1, // lacquerd answered with an error (401, 400, 503, ...)
    Usage = 2,       // bad command line, or a config or token file that cannot be used
    Unreachable = 3, // cannot connect, timed out, or no valid HTTP answer
};

enum class Command : std::uint8_t {
    Status,
    Stats,
    PurgeUrl,
    PurgePrefix,
    PurgeTag,
    PurgeAll,
    Ban,
    Origins,   // every origin server: state, in flight, connections, errors, last probe
    OriginSet, // origin drain|disable|enable POOL SERVER
    Reload,    // lacquerd loads its config file again (config_commands.h)
    Config,    // the effective running config
    Routes,    // every route: last request, requests in the last 1h, 24h, 7d
    Log,       // the live transaction log, filtered
    Top,       // the top URLs of the live transaction log over a sliding window
    Inspect,   // what the cache holds for one URL
};

// The filters and figures of `log` and `top` (watch_options.cc).
struct WatchOptions {
    std::string url_regex; // --url RE
    std::string route;
    std::string status; // a code or a class (5xx)
    std::string cache_status;
    std::string client; // an address or CIDR range
    std::string slower_ms;
    std::uint64_t count = 0;   // log: stop after N records; top: rows shown (0: default)
    std::string by = "misses"; // top: misses | hits | origin-time | bytes
    std::chrono::milliseconds window{10'000}; // top: the sliding window
    bool once = false;                        // top: one frame, then exit
};

struct Invocation {
    Command command = Command::Status;
    std::string argument;   // the URL path (with its query), prefix, tag or regex; origin: action
    std::string pool;       // origin: the pool
    std::string server;     // origin: the server, HOST:PORT as configured
    std::string host;       // purge URL: only that host's copies; empty: every host
    std::string admin;      // --admin HOST:PORT; empty: admin.address of the config
    std::string token_file; // --token-file; empty: admin.token_file of the config
    std::string fleet_file; // --fleet FILE: every node of it instead of one (ctl/fleet.h)
    std::string config_path{kDefaultConfigPath};
    bool config_given = false; // --config was written: the file must then be usable
    bool json = false;
    bool soft = false;  // purge: mark stale (refreshed in the background) instead of removing
    WatchOptions watch; // log, top
    std::chrono::milliseconds timeout = kDefaultTimeout; // per admin request
    bool help = false;                                   // print usage_text(), nothing else
    bool version = false;                                // print the version, nothing else
};

struct ParsedCommandLine {
    std::optional<Invocation> invocation; // nullopt: `error` says what is wrong
    std::string error;
};

// log, top, inspect (watch_options.cc): true when `name` is one of their options (set from
// `value`, or `error` set); `choose_watch_command` checks the words left for those commands.
bool is_watch_option(std::string_view name);
bool is_watch_flag(std::string_view name); // --once
std::string set_watch_option(std::string_view name, const std::string& value, WatchOptions& watch);
bool is_watch_command(std::string_view name);
std::string choose_watch_command(const std::vector<std::string_view>& positional,
                                 const std::string* host, bool purge_options, Invocation& inv);

// `args` without the program name. Options may stand before or after the command; `--` ends
// them (for a regex that starts with '-').
ParsedCommandLine parse_command_line(const std::vector<std::string_view>& args);

// The --help text, exit statuses included.
std::string usage_text();

} // namespace lacquer::ctl
