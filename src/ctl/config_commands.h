#pragma once
// `lacquerctl reload` and `lacquerctl config` (config_commands.cc).

#include "ctl/command_line.h"

#include <iosfwd>

namespace lacquer::ctl {

// POST /reload: prints lacquerd's answer ("applied generation N" on stdout, exit 0; "refused:
// FILE:LINE:COL: message" on stderr, exit 1). A --config that does not load is refused the same
// way without asking lacquerd (it would refuse it with the same loader).
ExitStatus run_reload(const Invocation& invocation, std::ostream& out, std::ostream& err);
// GET /config: prints the effective running config (YAML), as `nginx -T` does.
ExitStatus run_config(const Invocation& invocation, std::ostream& out, std::ostream& err);

} // namespace lacquer::ctl
