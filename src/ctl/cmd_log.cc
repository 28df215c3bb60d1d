// lacquerctl log: the live transaction log, filtered by lacquerd, printed as it arrives.
#include "ctl/observe_commands.h"

#include <ostream>

namespace lacquer::ctl {

std::string log_target(const Invocation& inv, bool json, std::uint64_t count) {
    const WatchOptions& w = inv.watch;
    std::string target = "/log?format=";
    target.append(json ? "json" : "text");
    const std::pair<std::string_view, const std::string*> filters[] = {
        {"url", &w.url_regex},      {"route", &w.route}, {"status", &w.status},
        {"cache", &w.cache_status}, {"host", &inv.host}, {"client", &w.client},
        {"slower", &w.slower_ms}};
    for (const auto& [name, value] : filters) {
        if (!value->empty()) {
            target.append("&").append(name).append("=").append(query_value(*value));
        }
    }
    if (count > 0) {
        target.append("&count=").append(std::to_string(count));
    }
    return target;
}

ExitStatus report_failure(std::string_view path, int status, std::string_view body,
                          std::string_view error, const AdminTarget& target, std::ostream& err) {
    if (status == 0) {
        err << "lacquerctl: " << error << "\n";
        if (!target.address_note.empty()) {
            err << "lacquerctl: " << target.address_note << "\n";
        }
        return ExitStatus::Unreachable;
    }
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.remove_suffix(1);
    }
    const std::string code = std::to_string(status);
    err << "lacquerctl: " << path << ": " << (body.starts_with(code) ? "" : code + " ") << body
        << "\n";
    if ((status == 401 || status == 403) && !target.token_note.empty()) {
        err << "lacquerctl: " << target.token_note << "\n";
    }
    return ExitStatus::ServerError;
}

ExitStatus run_log(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                   std::ostream& err) {
    const std::uint64_t limit = inv.watch.count;
    std::uint64_t lines = 0;
    std::string partial; // a line not complete yet
    const auto take = [&](std::string_view bytes) {
        partial.append(bytes);
        std::size_t at = 0;
        for (std::size_t nl; (nl = partial.find('\n', at)) != std::string::npos; at = nl + 1) {
            const std::string_view line(partial.data() + at, nl - at);
            out << line << "\n";
            // Drop notices are not records: they do not count towards --count.
            const bool record = !line.starts_with("# ") && !line.starts_with("{\"dropped\"");
            if (record && limit > 0 && ++lines >= limit) {
                out.flush();
                return false;
            }
        }
        partial.erase(0, at);
        out.flush();
        return true;
    };
    const StreamEnd end = stream(target.endpoint, log_target(inv, inv.json, limit), target.token,
                                 inv.timeout, std::chrono::steady_clock::time_point::max(), take);
    if (end.status == 200 && end.error.empty()) {
        return ExitStatus::Ok;
    }
    return report_failure("/log", end.status, end.body, end.error, target, err);
}

ExitStatus run_observe_command(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                               std::ostream& err) {
    switch (inv.command) {
    case Command::Log:
        return run_log(inv, target, out, err);
    case Command::Top:
        return run_top(inv, target, out, err);
    default:
        return run_inspect(inv, target, out, err);
    }
}

} // namespace lacquer::ctl
