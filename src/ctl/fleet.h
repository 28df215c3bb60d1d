#pragma once
// `lacquerctl --fleet FILE COMMAND`: one admin request (two for stats) to every node of the
// fleet file at once, then one line per node and a summary line (or one JSON object). Any node
// that does not answer, or answers an error, is named and makes the exit status non-zero:
// Unreachable when one did not answer, else ServerError.
//
// Commands: purge (URL, --prefix, --tag, --all; --soft), ban, stats and reload (POST /reload:
// 200 "applied generation N", 422 "refused: FILE:LINE:COL: message").

#include "ctl/admin_answers.h"
#include "ctl/command_line.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace lacquer::ctl {

// What one node said, or why it said nothing.
struct NodeOutcome {
    enum class Kind : std::uint8_t { Ok, Error, Unreachable };
    std::string node; // the admin address
    Kind kind = Kind::Unreachable;
    int http_status = 0;                   // 0 when there was no answer
    std::string message;                   // the error, or reload's "applied generation N"
    std::optional<std::uint64_t> count;    // purge and ban: objects removed or marked stale
    std::optional<StoreStats> store;       // stats
    std::optional<MetricsSummary> metrics; // stats
};

// The fleet's answers, in fleet file order, and how they print.
std::string fleet_text(Command command, const std::vector<NodeOutcome>& outcomes);
std::string fleet_json(Command command, const std::vector<NodeOutcome>& outcomes);
// Ok when every node answered 200; else Unreachable if any did not answer, else ServerError.
ExitStatus fleet_exit_status(const std::vector<NodeOutcome>& outcomes);

// Precondition: `invocation.fleet_file` is not empty. Usage errors (a bad fleet file, with
// FILE:LINE:COL; a command or option that does not go with --fleet) exit with Usage.
ExitStatus run_fleet(const Invocation& invocation, std::ostream& out, std::ostream& err);

} // namespace lacquer::ctl
