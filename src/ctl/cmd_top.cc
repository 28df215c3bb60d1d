// lacquerctl top: the top URLs of the live transaction log over a sliding window, by misses,
// hits, origin time or bytes. Reads lacquerd's JSON lines (filtered there), keeps the window's
// records here, and redraws once a second (clearing a terminal between frames); --once prints
// one frame when the first window has passed, for scripts and tests.
#include "ctl/observe_commands.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <ostream>
#include <unistd.h>

namespace lacquer::ctl {

namespace {

using Clock = std::chrono::steady_clock;

struct Seen {
    Clock::time_point at;
    std::string url; // "host /path?query"
    bool hit = false;
    bool miss = false;
    double origin_ms = 0;
    std::uint64_t bytes = 0;
};

struct Row {
    std::uint64_t requests = 0;
    std::uint64_t misses = 0;
    std::uint64_t hits = 0;
    double origin_ms = 0;
    std::uint64_t bytes = 0;
};

double number(const std::optional<std::string>& text) {
    double value = 0;
    if (text) {
        std::from_chars(text->data(), text->data() + text->size(), value);
    }
    return value;
}

std::string frame(const std::deque<Seen>& seen, const Invocation& inv) {
    std::map<std::string, Row> rows;
    for (const Seen& s : seen) {
        Row& r = rows[s.url];
        ++r.requests;
        r.misses += s.miss ? 1 : 0;
        r.hits += s.hit ? 1 : 0;
        r.origin_ms += s.origin_ms;
        r.bytes += s.bytes;
    }
    std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
    const std::string& by = inv.watch.by;
    const auto figure = [&by](const Row& r) {
        return by == "hits"          ? static_cast<double>(r.hits)
               : by == "origin-time" ? r.origin_ms
               : by == "bytes"       ? static_cast<double>(r.bytes)
                                     : static_cast<double>(r.misses);
    };
    std::stable_sort(sorted.begin(), sorted.end(), [&figure](const auto& a, const auto& b) {
        return figure(a.second) > figure(b.second); // ties stay in URL order
    });
    const std::size_t shown =
        std::min<std::size_t>(sorted.size(), inv.watch.count > 0 ? inv.watch.count : 20);
    char line[160];
    std::snprintf(line, sizeof line, "%.3f",
                  std::chrono::duration<double>(inv.watch.window).count());
    std::string out = "lacquer top by " + by + " over the last " + line +
                      "s: " + std::to_string(seen.size()) + " requests, " +
                      std::to_string(rows.size()) + " URLs\n";
    std::snprintf(line, sizeof line, "%8s %8s %8s %12s %12s  %s\n", "REQS", "MISSES", "HITS",
                  "ORIGIN_MS", "BYTES", "URL");
    out.append(line);
    for (std::size_t i = 0; i < shown; ++i) {
        const Row& r = sorted[i].second;
        std::snprintf(line, sizeof line, "%8llu %8llu %8llu %12.3f %12llu  ",
                      static_cast<unsigned long long>(r.requests),
                      static_cast<unsigned long long>(r.misses),
                      static_cast<unsigned long long>(r.hits), r.origin_ms,
                      static_cast<unsigned long long>(r.bytes));
        out.append(line).append(sorted[i].first).append("\n");
    }
    return out;
}

} // namespace

ExitStatus run_top(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                   std::ostream& err) {
    const bool tty = !inv.watch.once && ::isatty(STDOUT_FILENO) == 1;
    const Clock::time_point started = Clock::now();
    Clock::time_point next_frame = started + std::chrono::seconds(1);
    std::deque<Seen> seen;
    std::string partial;
    const auto show = [&] {
        const Clock::time_point now = Clock::now();
        while (!seen.empty() && seen.front().at < now - inv.watch.window) {
            seen.pop_front();
        }
        out << (tty ? "\x1b[H\x1b[2J" : "") << frame(seen, inv) << (tty ? "" : "\n");
        out.flush();
    };
    const auto take = [&](std::string_view bytes) {
        partial.append(bytes);
        std::size_t at = 0;
        for (std::size_t nl; (nl = partial.find('\n', at)) != std::string::npos; at = nl + 1) {
            const std::string_view line(partial.data() + at, nl - at);
            const std::optional<std::string> url = json_line_field(line, "url");
            if (!url) {
                continue; // a drop notice
            }
            const std::string cache = json_line_field(line, "cache").value_or("");
            Seen s;
            s.at = Clock::now();
            s.url = json_line_field(line, "host").value_or("-") + " " + *url;
            s.hit = cache == "hit" || cache == "stale" || cache == "coalesced";
            s.miss = cache == "miss" || cache == "hit_for_miss";
            s.origin_ms = number(json_line_field(line, "origin_ms"));
            s.bytes = static_cast<std::uint64_t>(number(json_line_field(line, "bytes")));
            seen.push_back(std::move(s));
        }
        partial.erase(0, at);
        if (!inv.watch.once && Clock::now() >= next_frame) {
            show();
            next_frame = Clock::now() + std::chrono::seconds(1);
        }
        return true;
    };
    const Clock::time_point until =
        inv.watch.once ? started + inv.watch.window : Clock::time_point::max();
    const StreamEnd end =
        stream(target.endpoint, log_target(inv, true, 0), target.token, inv.timeout, until, take);
    if (end.status != 200 || !end.error.empty()) {
        return report_failure("/log", end.status, end.body, end.error, target, err);
    }
    show();
    return ExitStatus::Ok;
}

std::optional<std::string> json_line_field(std::string_view line, std::string_view name) {
    std::string needle = "\"";
    needle.append(name).append("\": ");
    const std::size_t at = line.find(needle);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view rest = line.substr(at + needle.size());
    std::string value;
    if (!rest.starts_with('"')) { // a number (or null)
        const std::size_t end = rest.find_first_of(",}");
        return std::string(rest.substr(0, end));
    }
    for (std::size_t i = 1; i < rest.size(); ++i) {
        const char c = rest[i];
        if (c == '"') {
            return value;
        }
        if (c != '\\' || i + 1 >= rest.size()) {
            value.push_back(c);
            continue;
        }
        const char e = rest[++i];
        if (e == 'n') {
            value.push_back('\n');
        } else if (e == 'u' && i + 4 < rest.size()) {
            unsigned code = 0;
            std::from_chars(rest.data() + i + 1, rest.data() + i + 5, code, 16);
            value.push_back(static_cast<char>(code & 0xff));
            i += 4;
        } else {
            value.push_back(e);
        }
    }
    return std::nullopt; // unterminated
}

} // namespace lacquer::ctl
