#pragma once
// lacquerctl log, top and inspect: the live transaction log (GET /log, streamed) and one URL's
// stored variants (GET /debug/object). cmd_log.cc, cmd_top.cc, cmd_inspect.cc.

#include "ctl/admin_target.h"
#include "ctl/command_line.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::ctl {

// A query parameter value, percent-encoded (commands.cc).
std::string query_value(std::string_view text);

// Precondition: inv.command is Log, Top or Inspect.
ExitStatus run_observe_command(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                               std::ostream& err);

// The /log target for the filters of `inv` ("/log?url=...&format=json&count=N").
std::string log_target(const Invocation& inv, bool json, std::uint64_t count);

ExitStatus run_log(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                   std::ostream& err);
ExitStatus run_top(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                   std::ostream& err);
ExitStatus run_inspect(const Invocation& inv, const AdminTarget& target, std::ostream& out,
                       std::ostream& err);

// The end of a stream or an exchange that did not go well, printed as the other commands
// print theirs (cmd_log.cc): no answer is Unreachable, an error answer ServerError.
ExitStatus report_failure(std::string_view path, int status, std::string_view body,
                          std::string_view error, const AdminTarget& target, std::ostream& err);

// One field of a transaction log JSON line (as lacquerd writes it: `"name": value`): a string
// unescaped, or a number's text; nullopt when absent (cmd_top.cc, unit-tested).
std::optional<std::string> json_line_field(std::string_view line, std::string_view name);

} // namespace lacquer::ctl
