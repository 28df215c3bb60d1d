#pragma once
// The commands of lacquerctl: each makes its admin requests, prints the result on `out` and any
// failure, with the server's own message, on `err`, and says how the process should exit.

#include "ctl/command_line.h"

#include <iosfwd>

namespace lacquer::ctl {

// Precondition: `invocation` is neither --help nor --version.
ExitStatus run_command(const Invocation& invocation, std::ostream& out, std::ostream& err);

} // namespace lacquer::ctl
