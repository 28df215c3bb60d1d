// The command line of `log`, `top` and `inspect`: their options and operands (command_line.h).
// The filters themselves are checked by lacquerd, which answers a bad one with a 400 naming it.
#include "ctl/command_line.h"
#include "lacquer/config/units.h"

#include <charconv>

namespace lacquer::ctl {

namespace {

constexpr std::string_view kWatchOptions[] = {"--url",          "--route",  "--status",
                                              "--cache-status", "--client", "--slower",
                                              "--count",        "--by",     "--window"};

bool is_number(std::string_view text, std::uint64_t& out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

} // namespace

bool is_watch_option(std::string_view name) {
    for (const std::string_view known : kWatchOptions) {
        if (known == name) {
            return true;
        }
    }
    return false;
}

bool is_watch_flag(std::string_view name) {
    return name == "--once";
}

bool is_watch_command(std::string_view name) {
    return name == "log" || name == "top" || name == "inspect";
}

std::string set_watch_option(std::string_view name, const std::string& value, WatchOptions& w) {
    std::uint64_t number = 0;
    if (name == "--url") {
        w.url_regex = value;
    } else if (name == "--route") {
        w.route = value;
    } else if (name == "--status") {
        w.status = value;
    } else if (name == "--cache-status") {
        w.cache_status = value;
    } else if (name == "--client") {
        w.client = value;
    } else if (name == "--slower") {
        if (!is_number(value, number)) {
            return "--slower '" + value + "': milliseconds, a whole number";
        }
        w.slower_ms = value;
    } else if (name == "--count") {
        if (!is_number(value, number) || number == 0) {
            return "--count '" + value + "': a number above 0";
        }
        w.count = number;
    } else if (name == "--by") {
        if (value != "misses" && value != "hits" && value != "origin-time" && value != "bytes") {
            return "--by '" + value + "': misses, hits, origin-time or bytes";
        }
        w.by = value;
    } else {
        const auto window = config::parse_duration(value);
        if (!window || window->count() <= 0) {
            return "--window '" + value + "': a duration like 10s or 1m";
        }
        w.window = *window;
    }
    return {};
}

std::string choose_watch_command(const std::vector<std::string_view>& positional,
                                 const std::string* host, bool purge_options, Invocation& inv) {
    const std::string_view name = positional[0];
    const std::size_t operands = positional.size() - 1;
    if (purge_options) {
        return std::string(name) + ": --prefix, --tag, --all and --soft go with purge";
    }
    if (name == "log" || name == "top") {
        inv.command = name == "log" ? Command::Log : Command::Top;
        inv.host = host != nullptr ? *host : "";
        if (inv.watch.once && name == "log") {
            return "--once goes with top";
        }
        return operands > 0 ? std::string(name) + " takes no operand (filters are options)" : "";
    }
    inv.command = Command::Inspect;
    if (operands != 1) {
        return "inspect takes one URL (/path?query, or http://HOST/path)";
    }
    inv.argument = std::string(positional[1]);
    inv.host = host != nullptr ? *host : "";
    for (std::string_view scheme : {"http://", "https://"}) {
        if (inv.argument.starts_with(scheme)) {
            const std::size_t slash = inv.argument.find('/', scheme.size());
            const std::string authority = inv.argument.substr(scheme.size(), slash - scheme.size());
            inv.argument = slash == std::string::npos ? "/" : inv.argument.substr(slash);
            if (inv.host.empty()) {
                inv.host = authority;
            }
        }
    }
    return inv.argument.starts_with('/') ? ""
                                         : "inspect: the URL starts with '/' (or http://HOST/)";
}

} // namespace lacquer::ctl
