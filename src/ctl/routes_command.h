#pragma once
// `lacquerctl routes`: each route's last request and its request counts over the last hour, day
// and week (GET /routes), to see which endpoints have gone quiet before removing them.

#include "ctl/admin_target.h"
#include "ctl/command_line.h"

#include <iosfwd>

namespace lacquer::ctl {

// Prints lacquerd's table (or its JSON with --json) on `out`; failures on `err`.
ExitStatus run_routes(const Invocation& invocation, const AdminTarget& target, std::ostream& out,
                      std::ostream& err);

} // namespace lacquer::ctl
