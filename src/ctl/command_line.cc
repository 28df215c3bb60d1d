// Parsing lacquerctl's arguments into one Invocation. Every refusal names the argument at fault.
#include "ctl/command_line.h"

#include "lacquer/config/units.h"

#include <charconv>

namespace lacquer::ctl {

namespace {

// "5" (seconds) or a CONFIG.md duration ("250ms", "10s"); nullopt unless above zero.
std::optional<std::chrono::milliseconds> parse_timeout(std::string_view text) {
    unsigned seconds = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    std::optional<std::chrono::milliseconds> value;
    if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
        value = std::chrono::seconds(seconds);
    } else {
        value = config::parse_duration(text);
    }
    if (!value || value->count() <= 0) {
        return std::nullopt;
    }
    return value;
}

// "http://host/path?q" -> host and "/path?q"; anything else is left as it is.
void split_absolute_url(std::string& url, std::string& host) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (url.starts_with(scheme)) {
            const std::size_t slash = url.find('/', scheme.size());
            const std::string authority = url.substr(scheme.size(), slash - scheme.size());
            url = slash == std::string::npos ? "/" : url.substr(slash);
            if (host.empty()) {
                host = authority;
            }
            return;
        }
    }
}

struct Words {
    std::vector<std::string_view> positional;
    std::optional<std::string> prefix;
    std::optional<std::string> tag;
    std::optional<std::string> host;
    bool all = false;
    bool soft = false;
};

// The command and its argument from the words left once the options are taken.
std::string choose_command(const Words& w, Invocation& inv) {
    if (w.positional.empty()) {
        return "no command: status, stats, purge, ban, origins, origin, reload, config, routes, "
               "log, top or inspect "
               "(see --help)";
    }
    const std::string_view name = w.positional[0];
    const std::size_t operands = w.positional.size() - 1;
    const bool purge_options = w.prefix || w.tag || w.host || w.all;
    if (is_watch_command(name)) {
        return choose_watch_command(w.positional, w.host ? &*w.host : nullptr,
                                    w.prefix || w.tag || w.all || w.soft, inv);
    }
    if (name == "status" || name == "stats") {
        inv.command = name == "status" ? Command::Status : Command::Stats;
        if (operands > 0 || purge_options) {
            return std::string(name) + " takes no argument";
        }
        return {};
    }
    if (name == "reload" || name == "config") {
        inv.command = name == "reload" ? Command::Reload : Command::Config;
        return operands > 0 || purge_options ? std::string(name) + " takes no argument" : "";
    }
    if (name == "routes") {
        inv.command = Command::Routes;
        return operands > 0 || purge_options ? "routes takes no argument" : "";
    }
    if (name == "origins") {
        inv.command = Command::Origins;
        return operands > 0 || purge_options ? "origins takes no argument" : "";
    }
    if (name == "origin") {
        inv.command = Command::OriginSet;
        if (operands != 3 || purge_options) {
            return "origin takes drain|disable|enable POOL SERVER";
        }
        inv.argument = std::string(w.positional[1]);
        inv.pool = std::string(w.positional[2]);
        inv.server = std::string(w.positional[3]);
        const bool known =
            inv.argument == "drain" || inv.argument == "disable" || inv.argument == "enable";
        return known ? ""
                     : "origin: the action is drain, disable or enable, got '" + inv.argument + "'";
    }
    if (name == "ban") {
        inv.command = Command::Ban;
        if (operands != 1 || purge_options) {
            return "ban takes one REGEX";
        }
        inv.argument = std::string(w.positional[1]);
        return inv.argument.empty() ? "ban: the REGEX is empty" : "";
    }
    if (name != "purge") {
        return "unknown command '" + std::string(name) +
               "': status, stats, purge, ban, origins, origin, reload or config";
    }
    const int ways =
        (operands > 0 ? 1 : 0) + (w.prefix ? 1 : 0) + (w.tag ? 1 : 0) + (w.all ? 1 : 0);
    if (ways != 1 || operands > 1) {
        return "purge takes one of: URL, --prefix PATH, --tag TAG, --all";
    }
    if (w.host && operands == 0) {
        return "--host goes with purge URL only";
    }
    inv.soft = w.soft;
    if (w.all) {
        if (w.soft) {
            return "--soft goes with purge URL, --prefix or --tag";
        }
        inv.command = Command::PurgeAll;
        return {};
    }
    if (w.tag) {
        inv.command = Command::PurgeTag;
        inv.argument = *w.tag;
        return {};
    }
    if (w.prefix) {
        inv.command = Command::PurgePrefix;
        inv.argument = *w.prefix;
        return inv.argument.starts_with('/') ? "" : "purge --prefix: the PATH starts with '/'";
    }
    inv.command = Command::PurgeUrl;
    inv.argument = std::string(w.positional[1]);
    inv.host = w.host.value_or("");
    split_absolute_url(inv.argument, inv.host);
    return inv.argument.starts_with('/') ? "" : "purge: the URL starts with '/' (or http://HOST/)";
}

} // namespace

ParsedCommandLine parse_command_line(const std::vector<std::string_view>& args) {
    ParsedCommandLine out;
    Invocation inv;
    Words words;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (options_ended || !arg.starts_with('-') || arg == "-") {
            words.positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_ended = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            inv.help = true;
            out.invocation = inv;
            return out;
        }
        if (arg == "--version") {
            inv.version = true;
            out.invocation = inv;
            return out;
        }
        if (is_watch_flag(arg)) {
            inv.watch.once = true;
            continue;
        }
        if (arg == "--json" || arg == "--all" || arg == "--soft") {
            (arg == "--json" ? inv.json : arg == "--all" ? words.all : words.soft) = true;
            continue;
        }
        // The options with a value: "--name VALUE" or "--name=VALUE".
        const std::size_t eq = arg.find('=');
        const std::string_view name = arg.substr(0, eq);
        std::string value;
        const bool known = name == "--admin" || name == "--token-file" || name == "--config" ||
                           name == "--timeout" || name == "--prefix" || name == "--tag" ||
                           name == "--host" || name == "--fleet" || is_watch_option(name);
        if (!known) {
            out.error = "unknown option '" + std::string(arg) + "' (see --help)";
            return out;
        }
        if (eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
        } else if (i + 1 < args.size()) {
            value = std::string(args[++i]);
        }
        if (value.empty()) {
            out.error = std::string(name) + " needs a non-empty value";
            return out;
        }
        if (name == "--admin") {
            inv.admin = value;
        } else if (name == "--token-file") {
            inv.token_file = value;
        } else if (name == "--config") {
            inv.config_path = value;
            inv.config_given = true;
        } else if (name == "--timeout") {
            const auto timeout = parse_timeout(value);
            if (!timeout) {
                out.error = "--timeout '" + value + "': seconds, or a duration like 500ms or 10s";
                return out;
            }
            inv.timeout = *timeout;
        } else if (name == "--prefix") {
            words.prefix = value;
        } else if (name == "--fleet") {
            inv.fleet_file = value;
        } else if (name == "--tag") {
            words.tag = value;
        } else if (is_watch_option(name)) {
            out.error = set_watch_option(name, value, inv.watch);
            if (!out.error.empty()) {
                return out;
            }
        } else {
            words.host = value;
        }
    }
    out.error = choose_command(words, inv);
    if (out.error.empty()) {
        out.invocation = std::move(inv);
    }
    return out;
}

std::string usage_text() {
    return "usage: lacquerctl [OPTIONS] COMMAND\n"
           "Talks to the admin listener of a running lacquerd.\n"
           "\n"
           "commands:\n"
           "  status                  live, ready, workers, origin servers and cache figures\n"
           "  stats                   hit ratio, objects, bytes, evictions, origin servers\n"
           "  purge URL [--host H]    every variant of URL (/path?query, or http://HOST/path)\n"
           "  purge --prefix PATH     every object whose path starts with PATH\n"
           "  purge --tag TAG         every object whose tags header named TAG\n"
           "  purge --all             every object\n"
           "  purge ... --soft        (URL, --prefix, --tag) mark stale instead: served inside\n"
           "                          `stale` while one request refreshes each object\n"
           "  ban REGEX               every object whose path?params matches REGEX\n"
           "  origins                 every origin server: state (healthy, ejected, probed_down,\n"
           "                          draining, disabled), in flight, open connections, recent\n"
           "                          error ratio, ejections, last probe\n"
           "  origin drain POOL SERVER    no new requests to SERVER; those in flight finish\n"
           "  origin disable POOL SERVER  no requests to SERVER\n"
           "  origin enable POOL SERVER   SERVER takes requests again (slow start if set)\n"
           "  reload                  lacquerd loads its config file again; prints \"applied\n"
           "                          generation N\" (exit 0) or \"refused: FILE:LINE:COL:\n"
           "                          message\" (exit 1; the running config stays)\n"
           "  config                  print the effective running config (YAML, defaults\n"
           "                          filled in, no secret)\n"
           "  routes                  every route: its last request, and its requests in the\n"
           "                          last hour, day and week (since lacquerd started)\n"
           "  log [FILTERS] [--count N]   the live transaction log: one line per finished\n"
           "                          request (--json: JSON lines), until N or Ctrl-C\n"
           "  top [FILTERS] [--by misses|hits|origin-time|bytes] [--window 10s] [--count N]\n"
           "      [--once]            the top URLs over a sliding window, refreshed each\n"
           "                          second (--once: one frame after the window, for scripts)\n"
           "  inspect URL [--host H]  the route and key of URL and every stored variant: age,\n"
           "                          freshness left, stale windows, size, tags, validators,\n"
           "                          hits, and whether a fetch is in flight\n"
           "\n"
           "filters of log and top (checked by lacquerd):\n"
           "  --url RE                the request's /path?query matches RE (RE2 syntax)\n"
           "  --route R --status S    route name; status code (404) or class (5xx)\n"
           "  --cache-status C        hit, miss, stale, revalidated, coalesced, pass,\n"
           "                          hit_for_miss, synth or error\n"
           "  --host H --client CIDR  Host (port ignored); client address inside CIDR\n"
           "  --slower MS             took more than MS milliseconds\n"
           "\n"
           "options:\n"
           "  --admin HOST:PORT       the admin listener (default: admin.address of the config,\n"
           "                          else 127.0.0.1:9190)\n"
           "  --token-file FILE       the bearer token (default: admin.token_file of the config)\n"
           "  --config FILE           lacquerd's config (default /etc/lacquer/lacquer.yaml)\n"
           "  --timeout T             per request: seconds, or 500ms, 10s (default 5s)\n"
           "  --fleet FILE            every node of FILE at once (purge, ban, stats, reload):\n"
           "                          lines of ADMIN_ADDRESS [TOKEN_FILE]; one line per node\n"
           "                          is printed, and any node that fails makes the exit\n"
           "                          status 3 (did not answer) or 1 (answered an error)\n"
           "  --json                  print JSON instead of text\n"
           "  --version               print the version and exit\n"
           "  --help                  print this help and exit\n"
           "\n"
           "exit status:\n"
           "  0  success\n"
           "  1  lacquerd answered with an error (401 token, 400 request, 503 not ready);\n"
           "     its message is printed on stderr\n"
           "  2  bad command line, or a config or token file that cannot be used\n"
           "  3  cannot connect, timed out, or no valid HTTP answer\n";
}

} // namespace lacquer::ctl
