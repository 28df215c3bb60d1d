// status, stats, purge, ban and the origin servers over the admin API (CONFIG.md "Admin API"). One
// connection per request, each bounded by --timeout. Exit statuses: see ExitStatus.
#include "ctl/commands.h"

#include "ctl/admin_client.h"
#include "ctl/admin_target.h"
#include "ctl/config_commands.h"
#include "ctl/fleet.h"
#include "ctl/observe_commands.h"
#include "ctl/report.h"
#include "ctl/routes_command.h"

#include <ostream>

namespace lacquer::ctl {

namespace {

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '/';
}

} // namespace

// A query parameter value: everything but unreserved characters and '/' as %XX ('+' too, which
// the admin listener would read as a space).
std::string query_value(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        if (is_unreserved(c)) {
            out.push_back(c);
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0xf]);
        }
    }
    return out;
}

namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    return text;
}

class AdminCall {
public:
    AdminCall(const Invocation& inv, AdminTarget target, std::ostream& out, std::ostream& err)
        : inv_(inv), target_(std::move(target)), out_(out), err_(err) {}

    // `verb` is both the answer's field ({"purged": N}) and the word printed.
    ExitStatus purge(std::string_view path, std::string_view verb) {
        ExitStatus failure = ExitStatus::Ok;
        const std::optional<AdminAnswer> answer = ask_ok("POST", path, failure);
        if (!answer) {
            return failure;
        }
        const std::optional<std::uint64_t> count = json_count(answer->body, verb);
        if (!count) {
            return unexpected(path, *answer);
        }
        out_ << (inv_.json ? std::string(trimmed(answer->body)) + "\n" : count_text(verb, *count));
        return ExitStatus::Ok;
    }

    // `origins`: the admin listener's own table (or its JSON), printed as it is.
    ExitStatus origins() {
        ExitStatus failure = ExitStatus::Ok;
        const std::optional<AdminAnswer> answer =
            ask_ok("GET", inv_.json ? "/origins?format=json" : "/origins", failure);
        if (!answer) {
            return failure;
        }
        out_ << trimmed(answer->body) << "\n";
        return ExitStatus::Ok;
    }

    // `origin drain|disable|enable POOL SERVER`: prints lacquerd's one-line answer.
    ExitStatus set_origin(const std::string& path) {
        ExitStatus failure = ExitStatus::Ok;
        const std::optional<AdminAnswer> answer = ask_ok("POST", path, failure);
        if (!answer) {
            return failure;
        }
        out_ << (inv_.json ? "{\"message\": \"" + std::string(trimmed(answer->body)) + "\"}"
                           : std::string(trimmed(answer->body)))
             << "\n";
        return ExitStatus::Ok;
    }

    ExitStatus stats() {
        ExitStatus failure = ExitStatus::Ok;
        const std::optional<StoreStats> store = read_store(failure);
        const std::optional<AdminAnswer> metrics =
            store ? ask_ok("GET", "/metrics", failure) : std::nullopt;
        if (!metrics) {
            return failure;
        }
        const MetricsSummary summary = summarise_metrics(metrics->body);
        out_ << (inv_.json ? stats_json(summary, &*store) : stats_text(summary, &*store));
        return ExitStatus::Ok;
    }

    // Prints what it could learn even when part of it was refused (a missing token hides only
    // the /stats figures), then exits ServerError for any refusal, not ready included.
    ExitStatus status() {
        StatusReport report;
        report.admin = target_.endpoint.text();
        const std::optional<AdminAnswer> health = ask("GET", "/healthz");
        const std::optional<AdminAnswer> ready = health ? ask("GET", "/readyz") : std::nullopt;
        if (!ready) {
            return ExitStatus::Unreachable;
        }
        report.live = health->status == 200;
        report.ready = ready->status == 200;
        report.ready_message = std::string(trimmed(ready->body));
        ExitStatus failure = ExitStatus::Ok;
        if (const auto metrics = ask_ok("GET", "/metrics", failure)) {
            report.metrics = summarise_metrics(metrics->body);
        }
        if (failure != ExitStatus::Unreachable) {
            report.store = read_store(failure);
        }
        if (failure == ExitStatus::Unreachable) {
            return failure;
        }
        out_ << (inv_.json ? status_json(report) : status_text(report));
        if (!report.live) {
            report_refusal("/healthz", *health);
            failure = ExitStatus::ServerError;
        }
        if (!report.ready) {
            report_refusal("/readyz", *ready);
            failure = ExitStatus::ServerError;
        }
        return failure;
    }

private:
    // The answer, or nullopt after printing why there is none (exit status Unreachable).
    std::optional<AdminAnswer> ask(std::string_view method, std::string_view path) {
        Exchange x = exchange(target_.endpoint, method, path, target_.token, inv_.timeout);
        if (!x.answer) {
            err_ << "lacquerctl: " << x.error << "\n";
            if (!target_.address_note.empty()) {
                err_ << "lacquerctl: " << target_.address_note << "\n";
            }
        }
        return std::move(x.answer);
    }

    // Prints an error answer the way lacquerd worded it (exit status ServerError).
    void report_refusal(std::string_view path, const AdminAnswer& answer) {
        const std::string_view body = trimmed(answer.body);
        const std::string code = std::to_string(answer.status);
        err_ << "lacquerctl: " << path.substr(0, path.find('?')) << ": ";
        if (body.empty()) {
            err_ << "HTTP " << code << "\n";
        } else {
            err_ << (body.starts_with(code) ? "" : code + " ") << body << "\n";
        }
        if ((answer.status == 401 || answer.status == 403) && !target_.token_note.empty()) {
            err_ << "lacquerctl: " << target_.token_note << "\n";
        }
    }

    // The answer when it is a 200. Otherwise nullopt after printing why, with `failure` set to
    // Unreachable (no answer) or ServerError (an error answer); `failure` is untouched on 200.
    std::optional<AdminAnswer> ask_ok(std::string_view method, std::string_view path,
                                      ExitStatus& failure) {
        std::optional<AdminAnswer> answer = ask(method, path);
        if (!answer) {
            failure = ExitStatus::Unreachable;
            return std::nullopt;
        }
        if (answer->status != 200) {
            report_refusal(path, *answer);
            failure = ExitStatus::ServerError;
            return std::nullopt;
        }
        return answer;
    }

    std::optional<StoreStats> read_store(ExitStatus& failure) {
        const std::optional<AdminAnswer> answer = ask_ok("GET", "/stats", failure);
        if (!answer) {
            return std::nullopt;
        }
        std::optional<StoreStats> store = parse_store_stats(answer->body);
        if (!store) {
            failure = unexpected("/stats", *answer);
        }
        return store;
    }

    // A 200 whose body is not what this lacquerctl knows (another version of lacquerd).
    ExitStatus unexpected(std::string_view path, const AdminAnswer& answer) {
        err_ << "lacquerctl: unexpected answer to " << path << ": " << trimmed(answer.body) << "\n";
        return ExitStatus::ServerError;
    }

    const Invocation& inv_;
    AdminTarget target_;
    std::ostream& out_;
    std::ostream& err_;
};

} // namespace

ExitStatus run_command(const Invocation& inv, std::ostream& out, std::ostream& err) {
    if (!inv.fleet_file.empty()) {
        return run_fleet(inv, out, err);
    }
    if (inv.command == Command::Reload || inv.command == Command::Config) {
        return inv.command == Command::Reload ? run_reload(inv, out, err)
                                              : run_config(inv, out, err);
    }
    ResolvedTarget resolved = resolve_target(inv);
    if (!resolved.target) {
        err << "lacquerctl: " << resolved.error << "\n";
        return ExitStatus::Usage;
    }
    if (inv.command == Command::Routes) {
        return run_routes(inv, *resolved.target, out, err);
    }
    if (inv.command == Command::Log || inv.command == Command::Top ||
        inv.command == Command::Inspect) {
        return run_observe_command(inv, *resolved.target, out, err);
    }
    AdminCall call(inv, std::move(*resolved.target), out, err);
    const std::string arg = query_value(inv.argument);
    const std::string soft = inv.soft ? "&soft=1" : "";
    switch (inv.command) {
    case Command::Status:
        return call.status();
    case Command::Stats:
        return call.stats();
    case Command::PurgeUrl:
        return call.purge("/purge/url?url=" + arg +
                              (inv.host.empty() ? "" : "&host=" + query_value(inv.host)) + soft,
                          "purged");
    case Command::PurgePrefix:
        return call.purge("/purge/prefix?path=" + arg + soft, "purged");
    case Command::PurgeTag:
        return call.purge("/purge/tag?tag=" + arg + soft, "purged");
    case Command::PurgeAll:
        return call.purge("/purge/all", "purged");
    case Command::Ban:
        return call.purge("/ban?regex=" + arg, "banned");
    case Command::Origins:
        return call.origins();
    case Command::Routes: // run_routes() above
        break;
    case Command::OriginSet:
        return call.set_origin("/origin/" + arg + "?pool=" + query_value(inv.pool) +
                               "&server=" + query_value(inv.server));
    case Command::Reload:
    case Command::Config:
    case Command::Log:
    case Command::Top:
    case Command::Inspect:
        break; // above
    }
    return ExitStatus::Usage;
}

} // namespace lacquer::ctl
