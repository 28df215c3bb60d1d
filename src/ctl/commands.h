#pragma once
// The commands of lacquerctl: each makes its admin requests, prints the result on `out` and any
// failure, with the server's own message, on `err`, and says how the process should exit.

#include "ctl/command_line.h"

#include <iosfwd>
#include <string>
#include <string_view>

namespace lacquer::ctl {

// Precondition: `invocation` is neither --help nor --version.
ExitStatus run_command(const Invocation& invocation, std::ostream& out, std::ostream& err);

// A query parameter value for the admin API: everything but unreserved characters and '/' as
// %XX ('+' too, which the admin listener would read as a space).
std::string query_value(std::string_view text);

} // namespace lacquer::ctl
