#include "ctl/routes_command.h"

#include <ostream>

namespace lacquer::ctl {

ExitStatus run_routes(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                      std::ostream& err) {
    const std::string_view path = inv.json ? "/routes" : "/routes?format=text";
    const Exchange x = exchange(target.endpoint, "GET", path, target.token, inv.timeout);
    if (!x.answer) {
        err << "lacquerctl: " << x.error << "\n";
        if (!target.address_note.empty()) {
            err << "lacquerctl: " << target.address_note << "\n";
        }
        return ExitStatus::Unreachable;
    }
    std::string_view body = x.answer->body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.remove_suffix(1);
    }
    if (x.answer->status != 200) {
        const std::string code = std::to_string(x.answer->status);
        err << "lacquerctl: /routes: " << (body.starts_with(code) ? "" : code + " ") << body
            << "\n";
        if ((x.answer->status == 401 || x.answer->status == 403) && !target.token_note.empty()) {
            err << "lacquerctl: " << target.token_note << "\n";
        }
        return ExitStatus::ServerError;
    }
    out << body << "\n";
    return ExitStatus::Ok;
}

} // namespace lacquer::ctl
