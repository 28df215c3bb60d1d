// lacquerctl inspect URL [--host H]: what lacquerd's cache holds for one URL (GET /debug/object).
#include "ctl/admin_client.h"
#include "ctl/observe_commands.h"

#include <ostream>

namespace lacquer::ctl {

ExitStatus run_inspect(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                       std::ostream& err) {
    std::string path = "/debug/object?url=" + query_value(inv.argument);
    if (!inv.host.empty()) {
        path.append("&host=").append(query_value(inv.host));
    }
    path.append(inv.json ? "&format=json" : "&format=text");
    const Exchange x = exchange(target.endpoint, "GET", path, target.token, inv.timeout);
    if (!x.answer || x.answer->status != 200) {
        return report_failure("/debug/object", x.answer ? x.answer->status : 0,
                              x.answer ? x.answer->body : "", x.error, target, err);
    }
    out << x.answer->body;
    if (!x.answer->body.empty() && x.answer->body.back() != '\n') {
        out << "\n";
    }
    return ExitStatus::Ok;
}

} // namespace lacquer::ctl
