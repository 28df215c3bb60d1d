// reload and config over the admin API (CONFIG.md "Admin API": POST /reload, GET /config).
#include "ctl/config_commands.h"

#include "ctl/admin_client.h"
#include "ctl/admin_target.h"
#include "lacquer/config/load.h"

#include <algorithm>
#include <ostream>
#include <unistd.h>

namespace lacquer::ctl {

namespace {

std::string_view without_newline(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// The admin target, or the exit status after printing why there is none.
std::optional<AdminTarget> target_of(const Invocation& inv, std::ostream& err,
                                     ExitStatus& failure) {
    ResolvedTarget resolved = resolve_target(inv);
    if (!resolved.target) {
        err << "lacquerctl: " << resolved.error << "\n";
        failure = ExitStatus::Usage;
    }
    return std::move(resolved.target);
}

// An answer that is neither the one expected nor the refusal: 401, 404, 405, ...
ExitStatus report_error(std::string_view path, const AdminAnswer& answer, const AdminTarget& target,
                        std::ostream& err) {
    const std::string code = std::to_string(answer.status);
    const std::string_view body = without_newline(answer.body);
    err << "lacquerctl: " << path << ": " << (body.starts_with(code) ? "" : code + " ") << body
        << "\n";
    if (answer.status == 401 && !target.token_note.empty()) {
        err << "lacquerctl: " << target.token_note << "\n";
    }
    return ExitStatus::ServerError;
}

std::optional<AdminAnswer> ask(const AdminTarget& target, std::string_view method,
                               std::string_view path, const Invocation& inv, std::ostream& err) {
    Exchange x = exchange(target.endpoint, method, path, target.token, inv.timeout);
    if (!x.answer) {
        err << "lacquerctl: " << x.error << "\n";
        if (!target.address_note.empty()) {
            err << "lacquerctl: " << target.address_note << "\n";
        }
    }
    return std::move(x.answer);
}

// After a reload applied through --admin with --config FILE: when FILE moves the admin listener,
// says where it is now, so that the next command (without the old --admin) is not left failing.
void note_moved_admin(const Invocation& inv, const AdminTarget& target, std::ostream& out) {
    if (inv.admin.empty() || !inv.config_given) {
        return; // the address came from the file: lacquerd listened there already
    }
    std::optional<config::Config> config;
    try {
        config = config::load_config_file(inv.config_path);
    } catch (const std::exception&) {
        return; // lacquerd applied it, so it loaded; changed since: nothing sure to say
    }
    if (!config->admin.present) {
        out << "the admin listener is gone (" << inv.config_path << " has no admin section)\n";
        return;
    }
    if (config->admin.address.port == 0) {
        out << "the admin listener moved to a port lacquerd picks (" << inv.config_path
            << "): its log says which\n";
        return;
    }
    const Endpoint now = reachable(config->admin.address);
    if (now.text() != target.endpoint.text()) {
        out << "the admin listener moved to " << now.text() << " (" << inv.config_path
            << "): later commands with --config " << inv.config_path
            << " find it there; drop --admin " << inv.admin << "\n";
    }
}

} // namespace

ExitStatus run_reload(const Invocation& inv, std::ostream& out, std::ostream& err) {
    const bool needs_config = inv.admin.empty() || inv.token_file.empty();
    if (needs_config && (inv.config_given || ::access(inv.config_path.c_str(), R_OK) == 0)) {
        try {
            (void)config::load_config_file(inv.config_path);
        } catch (const config::ConfigError& e) {
            // lacquerd loads the same file with the same loader: it would refuse it so.
            err << "refused: " << e.what() << "\n"
                << "lacquerctl: the running config stays (lacquerd was not asked: the admin "
                   "address is read from that file)\n";
            return ExitStatus::ServerError;
        }
    }
    ExitStatus failure = ExitStatus::Ok;
    const std::optional<AdminTarget> target = target_of(inv, err, failure);
    if (!target) {
        return failure;
    }
    // A reload waits for every worker to switch (up to 5 s each step): give it room.
    Invocation slow = inv;
    slow.timeout = std::max(inv.timeout, std::chrono::milliseconds(30000));
    const std::optional<AdminAnswer> answer = ask(*target, "POST", "/reload", slow, err);
    if (!answer) {
        if (inv.admin.empty()) { // the file's address: a reload that moves it is asked elsewhere
            err << "lacquerctl: if this file moves the admin listener, lacquerd still listens "
                   "at the old address: pass it with --admin HOST:PORT (or send SIGHUP)\n";
        }
        return ExitStatus::Unreachable;
    }
    if (answer->status == 200) {
        out << without_newline(answer->body) << "\n";
        note_moved_admin(inv, *target, out);
        return ExitStatus::Ok;
    }
    if (answer->status == 422) {
        err << without_newline(answer->body) << "\n";
        return ExitStatus::ServerError;
    }
    return report_error("/reload", *answer, *target, err);
}

ExitStatus run_config(const Invocation& inv, std::ostream& out, std::ostream& err) {
    ExitStatus failure = ExitStatus::Ok;
    const std::optional<AdminTarget> target = target_of(inv, err, failure);
    if (!target) {
        return failure;
    }
    const std::optional<AdminAnswer> answer = ask(*target, "GET", "/config", inv, err);
    if (!answer) {
        return ExitStatus::Unreachable;
    }
    if (answer->status != 200) {
        return report_error("/config", *answer, *target, err);
    }
    out << answer->body;
    return ExitStatus::Ok;
}

} // namespace lacquer::ctl
